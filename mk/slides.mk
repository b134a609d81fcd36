# `make slides`: a reveal.js deck per executed chapter, in build/slides/ (index.html lists them;
# a chapter never executed is left out, saying so),
# made by `python -m hyena_lab.stage slides` (the slide rules: hyena_lab/stage.py). The decks
# work offline from file://: the JavaScript they load is fetched from npm with `npm pack` into
# build/slides-js (never a CDN at view time):
#   reveal.js 4.6.1  the last 4.x, the major version nbconvert 7.17's reveal template is written
#                    for (its default is reveal.js@4.0.2: dist/reveal.js, plugin/notes/notes.js)
#   mathjax 3.2.2    as in the book (`make book`): the deck replaces the template's MathJax 2
#   requirejs, @jupyter-widgets/html-manager  as in the book: the deck loads reveal.js with
#                    require.js, and the html manager draws the saved widgets
# Included by the Makefile (`include mk/slides.mk`), which defines BIN and STAMP
# (include it after they are defined, e.g. at the end).
SLIDES_NPM := reveal.js@4.6.1 mathjax@3.2.2 requirejs@2.3.8 @jupyter-widgets/html-manager@1.0.15
SLIDES_JS  := build/slides-js
SLIDES     := build/slides
SLIDES_NB  := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

.PHONY: slides

slides: $(STAMP) $(SLIDES_JS)/.fetched  ## reveal.js slides of every chapter in build/slides, offline
	rm -rf $(SLIDES) && mkdir -p $(SLIDES)
	$(BIN)/python -m hyena_lab.stage slides $(SLIDES_NB) --out $(SLIDES) --executed-only
	@echo "slides: open $(SLIDES)/index.html"

$(SLIDES_JS)/.fetched: mk/slides.mk
	@command -v npm >/dev/null || \
	  { echo "slides: npm is missing: install Node.js (npm pack vendors reveal.js)"; exit 1; }
	rm -rf $(SLIDES_JS) && mkdir -p $(SLIDES_JS)/pack
	cd $(SLIDES_JS)/pack && npm pack --silent $(SLIDES_NPM) >/dev/null
	for t in $(SLIDES_JS)/pack/*.tgz; do tar xzf $$t -C $(SLIDES_JS)/pack && \
	  mv $(SLIDES_JS)/pack/package $${t%.tgz}; done
	mkdir -p $(SLIDES_JS)/reveal.js/plugin/notes
	cp -r $(SLIDES_JS)/pack/reveal.js-*/dist $(SLIDES_JS)/pack/reveal.js-*/LICENSE \
	  $(SLIDES_JS)/reveal.js/
	cp $(SLIDES_JS)/pack/reveal.js-*/plugin/notes/notes.js $(SLIDES_JS)/reveal.js/plugin/notes/
	cp -r $(SLIDES_JS)/pack/mathjax-*/es5 $(SLIDES_JS)/mathjax
	cp $(SLIDES_JS)/pack/requirejs-*/require.js $(SLIDES_JS)/
	cp $(SLIDES_JS)/pack/jupyter-widgets-html-manager-*/dist/embed-amd.js \
	  $(SLIDES_JS)/pack/jupyter-widgets-html-manager-*/dist/*.woff* $(SLIDES_JS)/
	rm -rf $(SLIDES_JS)/pack
	@touch $@
