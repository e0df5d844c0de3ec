"""The suite's grouping for pytest-xdist (tests/conftest.py): a test of a module without the session's finished
workflow is in its module's group, and under ``--dist loadgroup`` the group reaches the scheduler, which reads it from
the end of the test's id (``...::test@group``). Without that, each test goes to any worker, and a module's fixtures
(and the finished workflow) are built in every worker that runs one of its tests."""

from __future__ import annotations


def test_a_test_is_in_its_modules_group_and_its_id_carries_it_under_loadgroup(request):
    module = request.node.nodeid.split("::", 1)[0]
    assert [mark.args[0] for mark in request.node.iter_markers("xdist_group")] == [module]
    if request.config.getoption("dist", "no") == "loadgroup" or getattr(request.config.option, "loadgroup", False):
        assert request.node.nodeid.endswith(f"@{module}"), f"{request.node.nodeid}: the group never reached the scheduler"
