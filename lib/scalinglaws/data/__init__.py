"""Text to tokens: the corpus (Gutenberg books, your own text, the ood sets), the BPE tokenizer, the token cache
(memmaps) and the windows a batch or an evaluation reads. Imports nothing else of the package but the root."""
