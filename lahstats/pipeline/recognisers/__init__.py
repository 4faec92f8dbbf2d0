"""One module per speech recogniser backend; ``pipeline.transcribe`` chooses and drives them."""
