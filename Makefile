# reviewlens: `make help` lists the targets.
# From the IMDB tarball to build/reviewlens.duckdb; every step is a file, so only what is stale reruns.

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
BUILD ?= build
DATA ?= $(BUILD)/aclImdb_v1.tar.gz
CONFIG ?= pipeline/config.toml
CHROMIUM := /usr/bin/chromium
DB := $(BUILD)/reviewlens.duckdb
STEP := $(PY) -m pipeline
SETTING_NAMES := seed data text dense cnn maps clusters attributions insights baseline
SETTINGS := $(SETTING_NAMES:%=$(BUILD)/settings/%.json)
NEURAL := dense cnn
MODELS := $(NEURAL) baseline

.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
# The database is replaced by a rename, never rewritten in place: make must never delete it.
.PRECIOUS: $(DB)

## Set up the environment and build the database (DATA=path/to/aclImdb_v1.tar.gz to skip the download)
all: $(DB)

## Open the viewer on the database
view: $(VENV)/.pipeline
	$(VENV)/bin/streamlit run viewer -- --db $(DB)

## Write build/report.html: the static report, one file that opens in any browser (pass the DATA= you built with)
report: $(BUILD)/report.html

## Run the test suite (builds its own small data; installs Chromium for the browser tests if missing)
test: $(VENV)/.test $(CHROMIUM)
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

.PHONY: all view report test bench lint clean help FORCE

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

# Debian's Chromium, which Playwright drives in the browser tests (never a downloaded browser).
$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tests"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null \
		|| { echo "error: could not install Chromium; run: sudo apt-get install chromium" >&2; exit 1; }

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
$(BUILD)/tokens.npz: pipeline/preprocess.py pipeline/text.py sql/macros.sql $(BUILD)/reviews.parquet $(BUILD)/settings/text.json $(BUILD)/settings/seed.json
	$(STEP).preprocess --config $(CONFIG) --reviews $(BUILD)/reviews.parquet --out $@

# TextBlob sentiment and negation and contrast counts of every review, on both cores.
$(BUILD)/metadata.parquet: pipeline/metadata.py pipeline/text.py sql/macros.sql $(BUILD)/reviews.parquet
	$(STEP).metadata --config $(CONFIG) --reviews $(BUILD)/reviews.parquet --out $@

# Ranked findings about the failures, and each feature's rank correlation with the loss.
$(BUILD)/insights.parquet $(BUILD)/insight_reviews.parquet $(BUILD)/correlations.parquet &: pipeline/insights.py \
		$(BUILD)/metadata.parquet $(BUILD)/tokens.npz $(NEURAL:%=$(BUILD)/predictions/%.parquet) \
		$(NEURAL:%=$(BUILD)/clusters/%.parquet) $(BUILD)/settings/insights.json $(BUILD)/settings/seed.json
	$(STEP).insights --config $(CONFIG) --reviews $(BUILD)/reviews.parquet --tokens $(BUILD)/tokens.npz \
		--metadata $(BUILD)/metadata.parquet --predictions $(NEURAL:%=$(BUILD)/predictions/%.parquet) \
		--clusters $(NEURAL:%=$(BUILD)/clusters/%.parquet) --out $(BUILD)/insights.parquet \
		--members $(BUILD)/insight_reviews.parquet --correlations $(BUILD)/correlations.parquet

# A Keras model, its training history, its predictions and latent vectors for every review.
$(BUILD)/models/%.keras $(BUILD)/models/%.json $(BUILD)/predictions/%.parquet $(BUILD)/latent/%.npy: pipeline/train.py pipeline/models.py $(BUILD)/tokens.npz $(BUILD)/settings/%.json $(BUILD)/settings/seed.json
	$(STEP).train --config $(CONFIG) --model $* --tokens $(BUILD)/tokens.npz \
		--out $(BUILD)/models/$*.keras --summary $(BUILD)/models/$*.json --predictions $(BUILD)/predictions/$*.parquet \
		--latent $(BUILD)/latent/$*.npy

# Integrated gradients of a model for every token of every review.
$(BUILD)/attributions/%.npz: pipeline/attributions.py $(BUILD)/models/%.keras $(BUILD)/tokens.npz $(BUILD)/settings/attributions.json
	$(STEP).attributions --config $(CONFIG) --model $* --weights $(BUILD)/models/$*.keras --tokens $(BUILD)/tokens.npz --out $@

# The t-SNE map of a model's latent space.
$(BUILD)/maps/%.npy: pipeline/maps.py $(BUILD)/latent/%.npy $(BUILD)/settings/maps.json $(BUILD)/settings/seed.json
	$(STEP).maps --config $(CONFIG) --latent $(BUILD)/latent/$*.npy --out $@

# k-means clusters of a model's latent space and the words over-represented in each.
$(BUILD)/clusters/%.parquet $(BUILD)/clusters/%_words.parquet: pipeline/clusters.py $(BUILD)/latent/%.npy $(BUILD)/tokens.npz $(BUILD)/settings/clusters.json $(BUILD)/settings/seed.json
	$(STEP).clusters --config $(CONFIG) --latent $(BUILD)/latent/$*.npy --tokens $(BUILD)/tokens.npz \
		--out $(BUILD)/clusters/$*.parquet --words $(BUILD)/clusters/$*_words.parquet

# The TF-IDF + logistic regression reference.
$(BUILD)/models/baseline.json $(BUILD)/predictions/baseline.parquet &: pipeline/baseline.py pipeline/text.py sql/macros.sql $(BUILD)/reviews.parquet $(BUILD)/tokens.npz $(BUILD)/settings/baseline.json
	$(STEP).baseline --config $(CONFIG) --reviews $(BUILD)/reviews.parquet --tokens $(BUILD)/tokens.npz \
		--summary $(BUILD)/models/baseline.json --predictions $(BUILD)/predictions/baseline.parquet

# The shared database, written aside and renamed into place when complete.
$(DB): pipeline/build_db.py sql/schema.sql sql/macros.sql $(wildcard sql/derive/*.sql) $(BUILD)/dataset.json $(BUILD)/tokens.npz \
		$(MODELS:%=$(BUILD)/models/%.json) $(MODELS:%=$(BUILD)/predictions/%.parquet) \
		$(NEURAL:%=$(BUILD)/maps/%.npy) $(NEURAL:%=$(BUILD)/clusters/%.parquet) $(NEURAL:%=$(BUILD)/attributions/%.npz) \
		$(BUILD)/metadata.parquet $(BUILD)/insights.parquet
	$(STEP).build_db --config $(CONFIG) --reviews $(BUILD)/reviews.parquet --tokens $(BUILD)/tokens.npz \
		--dataset $(BUILD)/dataset.json --models $(MODELS:%=$(BUILD)/models/%.json) \
		--predictions $(MODELS:%=$(BUILD)/predictions/%.parquet) \
		--latent-dir $(BUILD)/latent --map-dir $(BUILD)/maps --cluster-dir $(BUILD)/clusters \
		--attribution-dir $(BUILD)/attributions --metadata $(BUILD)/metadata.parquet \
		--insights $(BUILD)/insights.parquet --insight-reviews $(BUILD)/insight_reviews.parquet \
		--correlations $(BUILD)/correlations.parquet --out $@

# The static report, drawn from the database alone.
$(BUILD)/report.html: viewer/report.py viewer/charts.py $(wildcard sql/queries/*.sql) $(DB)
	$(PY) -m viewer.report --db $(DB) --out $@

FORCE:
