# The worked solutions of the open exercise parts, for teachers (hyena_lab.exercises.worked,
# issue 20): `make solutions` pairs course/solutions.py (jupytext py:percent, the source) with
# course/solutions.ipynb and executes it in place on a fresh kernel, as `make handbook` does
# for the chapters (a few minutes on a laptop CPU: chapter 4's trainings), without touching
# the record of chapter run times. Included at the end of the Makefile
# (`include mk/worked.mk`), which defines BIN and STAMP.
SOLUTIONS := course/solutions

.PHONY: solutions

solutions: $(STAMP)  ## execute the worked solutions for teachers into course/solutions.ipynb
	$(BIN)/jupytext --sync $(SOLUTIONS).py
	$(BIN)/python -c "import sys; from pathlib import Path; from hyena_lab.handbook import \
	  execute; print(f'$(SOLUTIONS).ipynb: {execute(Path(sys.argv[1]), 900):.0f} s')" \
	  $(SOLUTIONS).ipynb
	$(BIN)/jupytext --sync $(SOLUTIONS).py
