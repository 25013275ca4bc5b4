# dmilib: set up the environment, run the tests, build the book.
#
#   make test   create .venv (if needed) and run pytest      (PYTEST_ARGS="-k foo")
#   make book   create .venv (if needed) and build the book into _build/html
#   make paper  run every notebook with the paper-scale profile into results/paper
#   make standard  the same with the standard profile (CPU, hours) into results/standard
#   make clean  remove build outputs and caches (keeps .venv)
#   make distclean  also remove .venv

PYTHON ?= python3.11
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
BOOK_ARGS   ?= -W -n --keep-going

# Kernels: look in the venv first, so that notebooks run on the venv's
# "python3" kernel (and import dmilib from this checkout) even if the user
# has a "python3" kernelspec of another interpreter in ~/.local/share/jupyter
# and JUPYTER_PREFER_ENV_PATH=0 (jupyter_core otherwise prefers the venv).
export JUPYTER_PATH := $(CURDIR)/$(VENV)/share/jupyter$(if $(JUPYTER_PATH),:$(JUPYTER_PATH))

.PHONY: all venv test book paper standard clean distclean

all: test

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --upgrade pip
	$(VPY) -m pip install -e ".[book,test,ml]"
	touch $@

test: $(STAMP)
	$(VPY) -m pytest $(PYTEST_ARGS)

book: $(STAMP)
	$(VENV)/bin/jupyter-book build . $(BOOK_ARGS)
	@echo "Book: $(CURDIR)/_build/html/index.html"

# Every notebook through papermill with the paper-scale profile (book/profiles/paper.yaml;
# a GPU is recommended): executed notebooks and recorded numbers land in results/paper/.
paper: $(STAMP)
	$(VPY) -m dmilib.book paper --out results/paper

# Every notebook with the standard profile (book/profiles/standard.yaml: the 1503-image
# standard store on a CPU, 10 seeds x 30 epochs; hours): resumable, into results/standard/.
# Then each study chapter's experiments become book/records/standard/<chapter>.json, which the
# built book shows (refused if the dataset no longer matches the standard preset).
STUDY_CHAPTERS := components generalization pixelation noise
standard: $(STAMP)
	$(VPY) -m dmilib.book standard --out results/standard
	for chapter in $(STUDY_CHAPTERS); do \
	  $(VPY) -m dmilib.learn.study_record results/standard/$$chapter --chapter $$chapter --profile standard \
	    --check standard --out book/records/standard/$$chapter.json || exit 1; done
	@# The book's execution cache is keyed on the notebooks' code, not on the records they read.
	rm -rf _build/.jupyter_cache
	@echo "Records written; the next make book re-executes the chapters to show them."

clean:
	rm -rf _build .pytest_cache .jupyter_cache
	find . -path ./$(VENV) -prune -o -type d \( -name __pycache__ -o -name .ipynb_checkpoints -o -name '*.egg-info' \) -print | xargs rm -rf

distclean: clean
	rm -rf $(VENV)
