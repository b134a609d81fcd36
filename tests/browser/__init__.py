"""The real-browser tests (JupyterLab driven by Chromium); run with `make browser`."""
