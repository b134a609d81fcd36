# The filter-decay explorer (hyena_lab.explorer, issue 20): one page whose numbers the package
# computes beforehand (a grid of slider values), drawn by plain JavaScript, served offline.
# Included at the end of the Makefile (`include mk/explorer.mk`), which defines BIN, STAMP and
# BOOK_HTML. `make book` puts a copy in the book by listing `explorer-build` among its
# prerequisites and running $(EXPLORER_INTO_BOOK) after Sphinx (which starts from an empty
# $(BOOK_HTML)).
EXPLORER_DIR  ?= build/explorer
EXPLORER_PORT ?= 8000
EXPLORER_PAGE := $(EXPLORER_DIR)/index.html
# the page in the book, next to the chapters: build/book/html/explorer/index.html
EXPLORER_INTO_BOOK = mkdir -p $(BOOK_HTML)/explorer && \
  cp $(EXPLORER_PAGE) $(BOOK_HTML)/explorer/index.html

.PHONY: explorer explorer-build

explorer: $(EXPLORER_PAGE)  ## the filter-decay explorer on http://127.0.0.1:8000/ (EXPLORER_PORT; Ctrl-C stops it)
	$(BIN)/python -m hyena_lab.explorer serve --port $(EXPLORER_PORT) --dir $(EXPLORER_DIR)

explorer-build: $(EXPLORER_PAGE)  ## build the explorer page into build/explorer, no server

# rebuilt when the package or the template changes (a few seconds: the whole grid)
$(EXPLORER_PAGE): $(STAMP) $(wildcard hyena_lab/*.py hyena_lab/experiments/*.py) \
                  hyena_lab/data/explorer.html
	$(BIN)/python -m hyena_lab.explorer build $(EXPLORER_DIR)
