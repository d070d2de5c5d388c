# reviewlens: `make help` lists the targets.
# From the IMDB tarball to build/reviewlens.duckdb; every step is a file, so only what is stale reruns.

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
BUILD ?= build
DATA ?= $(BUILD)/aclImdb_v1.tar.gz
CONFIG ?= pipeline/config.toml
DB := $(BUILD)/reviewlens.duckdb
STEP := $(PY) -m pipeline
SETTING_NAMES := seed data text dense cnn baseline
SETTINGS := $(SETTING_NAMES:%=$(BUILD)/settings/%.json)
MODELS := dense cnn baseline

.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
# The database is replaced by a rename, never rewritten in place: make must never delete it.
.PRECIOUS: $(DB)

## Set up the environment and build the database (DATA=path/to/aclImdb_v1.tar.gz to skip the download)
all: $(DB)

## Open the viewer on the database
view: $(VENV)/.pipeline
	$(VENV)/bin/streamlit run viewer -- --db $(DB)

## Run the test suite (builds its own small data; browser tests need /usr/bin/chromium)
test: $(VENV)/.test
	$(PY) -m pytest

## Run the full pipeline on the real data from scratch and write $(BUILD)/bench.json
bench: $(VENV)/.pipeline
	$(STEP).bench --data $(DATA) --config $(CONFIG) --out $(BUILD)/bench.json

## Check style with ruff
lint: $(VENV)/.test
	$(VENV)/bin/ruff check pipeline viewer tests

## Delete everything the pipeline built (the virtual environment stays)
clean:
	rm -rf $(BUILD)

## List the targets
help:
	@awk '/^## /{doc=substr($$0, 4); next} /^[a-z]+:/{if (doc) printf "  make %-8s %s\n", substr($$1, 1, length($$1)-1), doc; doc=""}' $(MAKEFILE_LIST)

.PHONY: all view test bench lint clean help FORCE

# --- environment -----------------------------------------------------------------------------

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamps: reinstall when pyproject.toml changes.
$(VENV)/.pipeline: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[pipeline]'
	touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.pipeline
	$(PY) -m pip install --quiet -e '.[pipeline,test]'
	touch $@

# --- pipeline --------------------------------------------------------------------------------

# One file per settings table, rewritten only when its content changes, so a new CNN setting
# retrains the CNN and nothing else.
$(SETTINGS) &: FORCE $(VENV)/.pipeline
	@$(STEP).settings --config $(CONFIG) --out-dir $(BUILD)/settings

# Download the official tarball, only when no DATA= was given.
$(BUILD)/aclImdb_v1.tar.gz: | $(VENV)/.pipeline $(BUILD)/settings/data.json
	$(STEP).download --config $(CONFIG) --out $@

# Every review with split, label, rating and raw text, read from the tarball as a stream.
$(BUILD)/reviews.parquet $(BUILD)/dataset.json &: pipeline/ingest.py $(BUILD)/settings/data.json $(wildcard $(DATA)) | $(if $(filter $(DATA),$(BUILD)/aclImdb_v1.tar.gz),$(DATA))
	$(STEP).ingest --config $(CONFIG) --data $(DATA) --out $(BUILD)/reviews.parquet --dataset-info $(BUILD)/dataset.json

# Cleaned, tokenized, encoded reviews; the vocabulary comes from the train subset.
$(BUILD)/tokens.npz: pipeline/preprocess.py pipeline/text.py $(BUILD)/reviews.parquet $(BUILD)/settings/text.json $(BUILD)/settings/seed.json
	$(STEP).preprocess --config $(CONFIG) --reviews $(BUILD)/reviews.parquet --out $@

# A Keras model, its training history and its predictions for every review.
$(BUILD)/models/%.keras $(BUILD)/models/%.json $(BUILD)/predictions/%.parquet: pipeline/train.py pipeline/models.py $(BUILD)/tokens.npz $(BUILD)/settings/%.json $(BUILD)/settings/seed.json
	$(STEP).train --config $(CONFIG) --model $* --tokens $(BUILD)/tokens.npz \
		--out $(BUILD)/models/$*.keras --summary $(BUILD)/models/$*.json --predictions $(BUILD)/predictions/$*.parquet

# The TF-IDF + logistic regression reference.
$(BUILD)/models/baseline.json $(BUILD)/predictions/baseline.parquet &: pipeline/baseline.py pipeline/text.py $(BUILD)/reviews.parquet $(BUILD)/tokens.npz $(BUILD)/settings/baseline.json
	$(STEP).baseline --config $(CONFIG) --reviews $(BUILD)/reviews.parquet --tokens $(BUILD)/tokens.npz \
		--summary $(BUILD)/models/baseline.json --predictions $(BUILD)/predictions/baseline.parquet

# The shared database, written aside and renamed into place when complete.
$(DB): pipeline/build_db.py sql/schema.sql $(BUILD)/dataset.json $(BUILD)/tokens.npz $(MODELS:%=$(BUILD)/models/%.json) $(MODELS:%=$(BUILD)/predictions/%.parquet)
	$(STEP).build_db --config $(CONFIG) --reviews $(BUILD)/reviews.parquet --tokens $(BUILD)/tokens.npz \
		--dataset $(BUILD)/dataset.json --models $(MODELS:%=$(BUILD)/models/%.json) \
		--predictions $(MODELS:%=$(BUILD)/predictions/%.parquet) --out $@

FORCE:
