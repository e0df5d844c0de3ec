"""Derive the bundled sample (workflow/sample_data/aclImdb_sample.tar.gz) from aclImdb_v1.tar.gz.

Picks, in every review folder, the files whose BLAKE2b digest of the member name
is smallest: a fixed, reproducible, unbiased choice. Re-running gives a
byte-identical archive.

    python tools/make_sample.py ../shared/data/aclImdb_v1.tar.gz workflow/sample_data/aclImdb_sample.tar.gz
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import tarfile

PER_FOLDER = {"train/pos": 500, "train/neg": 500, "test/pos": 500, "test/neg": 500, "train/unsup": 2000}


def _rank(name: str) -> bytes:
    return hashlib.blake2b(name.encode(), digest_size=8).digest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source")
    parser.add_argument("target")
    args = parser.parse_args()

    chosen: dict[str, list[tuple[bytes, str, bytes]]] = {folder: [] for folder in PER_FOLDER}
    with tarfile.open(args.source, "r|gz") as archive:
        for member in archive:
            folder = "/".join(member.name.split("/")[1:3])
            if member.isfile() and folder in PER_FOLDER and member.name.endswith(".txt"):
                candidates = chosen[folder]
                candidates.append((_rank(member.name), member.name, archive.extractfile(member).read()))
                candidates.sort()
                del candidates[PER_FOLDER[folder]:]

    with open(args.target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as packed:
        with tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for folder in sorted(chosen):
                for _, name, data in sorted(chosen[folder], key=lambda item: item[1]):
                    info = tarfile.TarInfo(name)
                    info.size, info.mtime, info.mode = len(data), 0, 0o644
                    archive.addfile(info, io.BytesIO(data))
    print(f"wrote {sum(map(len, chosen.values()))} reviews to {args.target}")


if __name__ == "__main__":
    main()
