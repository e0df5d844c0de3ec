"""Stage 2: word vectors (gensim word2vec or imported) and the matrix that initialises the Embedding."""
