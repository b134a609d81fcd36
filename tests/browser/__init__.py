"""The real-browser tests (headless Chromium): every page of the built book, and chapter 01 run
in JupyterLab with its widgets moved; run with `make browser`."""
