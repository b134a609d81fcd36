# hyena-lab: every set-up step lives here, so that a fresh machine needs only `make test` or
# `make handbook`. Override the torch pin for a CUDA build, e.g. `make test TORCH_SPEC=torch`.
PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.hyena-lab-installed
PIP        := $(BIN)/python -m pip --disable-pip-version-check -q
NOTEBOOKS  := $(sort $(wildcard notebooks/[0-9][0-9]_*.py))
EXTRAS     ?= dev,browser,book,triton
CHROMIUM   ?= /usr/bin/chromium
# pytest-xdist workers for the unit tests and the notebooks; JOBS=0 runs them in one process.
# The unit workers run one thread each (OMP_NUM_THREADS=1): two workers with two OpenMP threads
# each on two cores spin against each other. The notebooks keep their threads (with one thread
# each, course/solutions.ipynb alone ran past 15 min) but wait passively (OMP_WAIT_POLICY), a
# notebook per worker (--dist loadfile: its cells in order, in one kernel): on two cores the
# whole nbval run took 766 s, against 899 s in one process (2026-12-04).
JOBS       ?= 2
XDIST      := $(if $(filter 0,$(JOBS)),,-n $(JOBS))
PARALLEL   := $(if $(filter 0,$(JOBS)),,OMP_NUM_THREADS=1)
NB_XDIST   := $(if $(filter 0,$(JOBS)),,-n $(JOBS) --dist loadfile)
# The static book (`make book`): JavaScript that the pages need offline, fetched from npm with
# `npm pack` into an ignored folder (require.js and the ipywidgets HTML manager for widgets,
# MathJax 3 for equations); the notebooks are staged next to book/index.md and built by Sphinx.
BOOK_NPM   := requirejs@2.3.8 @jupyter-widgets/html-manager@1.0.15 mathjax@3.2.2
BOOK_JS    := build/book-js
BOOK_SRC   := build/book/src
BOOK_HTML  := build/book/html

.PHONY: help install test unit notebooks browser chromium lint handbook sync lab book clean \
        fuzz stress stress-stop

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install: $(STAMP)  ## create .venv (if missing); install the package with its dev, browser, book, triton extras

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install "$(TORCH_SPEC)"
	$(PIP) install -e ".[$(EXTRAS)]"
	@touch $@

test: $(STAMP) lint unit notebooks browser  ## the whole suite: ruff, unit tests, nbval, real browser

lint: $(STAMP)  ## ruff over the package, the tests and the notebook sources
	$(BIN)/ruff check .

unit: $(STAMP)  ## pytest unit and property tests (includes the .py/.ipynb sync check)
	$(PARALLEL) MPLBACKEND=Agg $(BIN)/pytest -q $(XDIST) tests --ignore=tests/browser

notebooks: $(STAMP)  ## execute every chapter and the worked solutions under nbval (lax: compares only marked cells)
	OMP_WAIT_POLICY=PASSIVE $(BIN)/pytest -q --nbval-lax --nbval-cell-timeout=900 $(NB_XDIST) \
	  notebooks course/solutions.ipynb

# the real-browser tests: every page of the built book (MathJax errors, console errors, widget
# notices, download links) and chapter 01 run in JupyterLab with its slider moved
browser: $(STAMP) chromium book  ## headless Chromium: every book page; chapter 01 in JupyterLab
	$(BIN)/pytest -q -rs tests/browser

chromium:  ## install Debian's chromium when missing (root only; else the browser test skips)
	@if [ -x "$(CHROMIUM)" ]; then \
	  echo "chromium: $(CHROMIUM) present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "chromium: installing Debian's chromium (apt-get, about 1 min)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	    >/dev/null; } || echo "chromium: apt-get failed; the browser test will skip"; \
	else \
	  echo "chromium: $(CHROMIUM) missing and not root (or no apt-get); the browser test will skip"; \
	fi

handbook: $(STAMP)  ## sync .py -> .ipynb, execute every chapter in place, write figures/ and the syllabus
	$(BIN)/jupytext --sync $(NOTEBOOKS)
	HYENA_LAB_FIGURES=$(CURDIR)/figures $(BIN)/python -m hyena_lab.handbook --timeout 900 \
	  $(NOTEBOOKS:.py=.ipynb)
	$(BIN)/jupytext --sync $(NOTEBOOKS)
	$(BIN)/python -m hyena_lab.syllabus

fuzz: $(STAMP)  ## property tests with fresh random examples (HYPOTHESIS_MAX_EXAMPLES=1000 each)
	HYPOTHESIS_PROFILE=fuzz MPLBACKEND=Agg $(BIN)/pytest -q -x tests --ignore=tests/browser \
	  -p no:cacheprovider $(PYTEST_ARGS)

# `make stress` keeps both cores busy with two Python busy loops (their process ids go to
# build/stress.pids) so that the suite can be run under load; `make stress-stop` ends them.
# STRESS_SECONDS bounds them in any case (default one hour).
STRESS_SECONDS ?= 3600
stress:  ## start two busy loops (one per core) for STRESS_SECONDS; stop them with stress-stop
	@mkdir -p build && : > build/stress.pids
	@for i in 1 2; do \
	  nohup $(PYTHON) -c "import time; end = time.time() + $(STRESS_SECONDS); \
	    all(iter(lambda: time.time() < end, False))" >/dev/null 2>&1 & \
	  echo $$! >> build/stress.pids; \
	done
	@echo "stress: busy loops $$(tr '\n' ' ' < build/stress.pids)(make stress-stop ends them)"

stress-stop:  ## stop the busy loops started by `make stress`
	@if [ -f build/stress.pids ]; then kill $$(cat build/stress.pids) 2>/dev/null || true; \
	  rm -f build/stress.pids; echo "stress: stopped"; else echo "stress: none running"; fi

sync: $(STAMP)  ## pair and sync the .py and .ipynb of every chapter
	$(BIN)/jupytext --sync $(NOTEBOOKS)

lab: $(STAMP)  ## open JupyterLab on the notebooks
	$(BIN)/jupyter lab notebooks

book: $(STAMP) $(BOOK_JS)/.fetched slides explorer-build  ## the static HTML book, offline: chapters, syllabus, slides, explorer
	rm -rf $(BOOK_SRC) $(BOOK_HTML) && mkdir -p $(BOOK_SRC)/notebooks $(BOOK_SRC)/course
	cp book/*.md $(BOOK_SRC)/
	@# the executed chapters, their check cells folded (hide-input) and NBVAL markers stripped
	$(BIN)/python -m hyena_lab.stage book notebooks $(BOOK_SRC)/notebooks
	cp course/syllabus.md course/solutions.ipynb $(BOOK_SRC)/course/
	cp -r figures $(BOOK_SRC)/figures
	$(BIN)/sphinx-build -b html -W --keep-going -q -c book $(BOOK_SRC) $(BOOK_HTML)
	@# the widget manager looks for its icon fonts relative to the page, not to its script
	mkdir -p $(BOOK_HTML)/notebooks/@jupyter-widgets/html-manager/dist
	cp $(BOOK_JS)/widget-fonts/* $(BOOK_HTML)/notebooks/@jupyter-widgets/html-manager/dist/
	@# the decks keep their relative ../slides-js/ paths; the explorer is one self-contained page
	cp -r $(SLIDES) $(BOOK_HTML)/slides && cp -r $(SLIDES_JS) $(BOOK_HTML)/slides-js
	$(EXPLORER_INTO_BOOK)
	@echo "book: open $(BOOK_HTML)/index.html"

$(BOOK_JS)/.fetched: Makefile
	rm -rf $(BOOK_JS) && mkdir -p $(BOOK_JS)/pack $(BOOK_JS)/static/mathjax
	cd $(BOOK_JS)/pack && npm pack --silent $(BOOK_NPM) >/dev/null
	for t in $(BOOK_JS)/pack/*.tgz; do tar xzf $$t -C $(BOOK_JS)/pack && \
	  mv $(BOOK_JS)/pack/package $${t%.tgz}; done
	cp $(BOOK_JS)/pack/requirejs-*/require.js $(BOOK_JS)/static/
	cp $(BOOK_JS)/pack/jupyter-widgets-html-manager-*/dist/embed-amd.js $(BOOK_JS)/static/
	mkdir -p $(BOOK_JS)/widget-fonts
	cp $(BOOK_JS)/pack/jupyter-widgets-html-manager-*/dist/*.woff* $(BOOK_JS)/widget-fonts/
	cp -r $(BOOK_JS)/pack/mathjax-*/es5/. $(BOOK_JS)/static/mathjax/
	rm -rf $(BOOK_JS)/pack
	@touch $@

clean:  ## remove caches (keeps .venv)
	rm -rf .pytest_cache .ruff_cache .hypothesis build *.egg-info

# course kit: slides (reveal.js decks), the filter-decay explorer, the worked solutions
include mk/slides.mk
include mk/explorer.mk
include mk/worked.mk
