# reviewlens: `make help` lists the targets.
# From the data (the IMDB tarball, or a file of labelled texts) to build/reviewlens.duckdb; every step is a file,
# so only what is stale reruns.

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
BUILD ?= build
DATA ?= $(BUILD)/aclImdb_v1.tar.gz
CONFIG ?= pipeline/config.toml
CHROMIUM := /usr/bin/chromium
DB := $(BUILD)/reviewlens.duckdb
STEP := $(PY) -m pipeline
# The models and the settings tables come from the settings (pipeline/config.toml, CONFIG=), the models brought in
# (MODEL=a.keras,checkpoint-folder) and the predictions made elsewhere (PREDICTIONS=file): pipeline.settings writes
# them into models.mk, which make reads before anything else, and the whole settings into config.json, which every
# step reads. models.mk names TRAINED, BROUGHT (model files, which can be run), ELSEWHERE (predictions files),
# MAPPED (the models with a latent space: maps and clusters) and SUFFIX_<model>, the suffix of each model's file.
MODEL ?=
PREDICTIONS ?=
ifneq ($(filter-out help clean lint test view,$(or $(MAKECMDGOALS),help)),)
-include $(BUILD)/settings/models.mk
endif
SETTINGS := $(SETTING_NAMES:%=$(BUILD)/settings/%.json)
RESOLVED := $(BUILD)/settings/config.json
# Every model, then those that can be run on texts (attributions, behavioural tests): all but predictions made elsewhere.
MODELS := $(TRAINED) $(BROUGHT) $(ELSEWHERE) baseline
RUN := $(TRAINED) $(BROUGHT) baseline
# A model's file beside the database: build/models/<model>.keras, .checkpoint (a folder) or, the baseline's, .pkl.
model_file = $(BUILD)/models/$(1).$(or $(SUFFIX_$(1)),pkl)
# The modules every step uses (the settings read a predictions file's header with formats.py); each rule adds its own.
CORE := pipeline/cli.py pipeline/config.py pipeline/errors.py pipeline/artifacts.py pipeline/formats.py

.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
# The database is replaced by a rename, never rewritten in place: make must never delete it.
.PRECIOUS: $(DB)
# The models are kept beside the database, though only steps read them (.SECONDARY with no files would mean
# every file).
ifneq ($(strip $(TRAINED) $(BROUGHT)),)
.SECONDARY: $(foreach model,$(TRAINED) $(BROUGHT),$(call model_file,$(model))) $(TRAINED:%=$(BUILD)/training/%.json)
endif
# Rules find a model's file by its suffix from models.mk.
.SECONDEXPANSION:

## Set up the environment and build the database (DATA=your.csv, .parquet, .jsonl or the IMDB tarball; MODEL=your.keras or checkpoint folder; PREDICTIONS=file)
all: $(DB)

## Open the viewer on the database, on this machine only (ADDRESS=0.0.0.0 serves it to your network)
ADDRESS := localhost
view: $(VENV)/.pipeline
	$(VENV)/bin/streamlit run viewer --server.address $(ADDRESS) -- --db $(DB)

## Write build/report.html: the static report, one file that opens in any browser (pass the DATA= you built with)
report: $(BUILD)/report.html

## Run the test suite (builds its own small data; installs Chromium for the browser tests if missing)
test: $(VENV)/.test $(CHROMIUM)
	$(PY) -m pytest

## Run the full pipeline on the real data from scratch and write $(BUILD)/bench.json
bench: $(VENV)/.pipeline
	$(STEP).bench --data $(DATA) --config $(CONFIG) --out $(BUILD)/bench.json

## Time every step, the database and the viewer on texts made from IMDB: 50,000, 200,000 and N=1000000 (SIZES= others)
N ?= 1000000
SIZES ?= 50000 200000 $(N)
bench-scale: $(VENV)/.pipeline
	$(STEP).scale --data $(DATA) --config $(CONFIG) --sizes "$(SIZES)" --up-to $(N) --out $(BUILD)/bench.json \
		$(if $(KEEP),--keep)

## Check style with ruff
lint: $(VENV)/.test
	$(VENV)/bin/ruff check pipeline viewer tests

## Delete everything the pipeline built (the virtual environment stays)
clean:
	rm -rf $(BUILD)

## List the targets
help:
	@awk '/^## /{doc=substr($$0, 4); next} /^[a-z-]+:/{if (doc) printf "  make %-11s %s\n", substr($$1, 1, length($$1)-1), doc; doc=""}' $(MAKEFILE_LIST)

.PHONY: all view report test bench bench-scale lint clean help FORCE

# --- environment -----------------------------------------------------------------------------

# Every package, with the pipeline and test extras, at the exact version in the lock, which is written by
# `make lock` (uv pip compile) and checked by tests/test_lock.py; pip and uv are pinned here likewise.
LOCK := requirements.lock
PIP_VERSION := 26.3
UV_VERSION := 0.13.9

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet pip==$(PIP_VERSION)

# Stamps: reinstall when the lock or pyproject.toml changes. The project goes in with --no-deps, so nothing
# comes from outside the lock; tests/test_lock.py then fails when pyproject.toml asks for what the lock lacks.
$(VENV)/.pipeline: $(LOCK) pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --no-deps -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	@$(PY) -m pytest --quiet --no-header --noconftest -p no:cacheprovider tests/test_lock.py > $(VENV)/lock-check.txt \
		|| { cat $(VENV)/lock-check.txt; echo "error: $(LOCK) does not match pyproject.toml; run: make lock" >&2; exit 1; }
	touch $@

# The test tools are in the same lock, so the pipeline stamp has installed them already.
$(VENV)/.test: $(LOCK) pyproject.toml $(VENV)/.pipeline
	touch $@

## Refresh requirements.lock from pyproject.toml, keeping the current pins that still fit (UPGRADE=1: newest releases)
lock: | $(VENV)/bin/python
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile pyproject.toml --extra pipeline --extra test --universal --quiet \
		--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade) --output-file $(LOCK)

.PHONY: lock

# Debian's Chromium, which Playwright drives in the browser tests (never a downloaded browser).
$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tests"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null \
		|| { echo "error: could not install Chromium; run: sudo apt-get install chromium" >&2; exit 1; }

# --- pipeline --------------------------------------------------------------------------------

# One file per settings table, rewritten only when its content changes, so a new CNN setting
# retrains the CNN and nothing else; config.json, all of them; and models.mk, the models these rules follow.
$(BUILD)/settings/models.mk $(RESOLVED) $(SETTINGS) &: FORCE $(VENV)/.pipeline
	@$(STEP).settings --config $(CONFIG) --brought "$(MODEL)" --predictions "$(PREDICTIONS)" --out-dir $(BUILD)/settings

# Download the official tarball, only when no DATA= was given.
$(BUILD)/aclImdb_v1.tar.gz: | $(VENV)/.pipeline $(BUILD)/settings/data.json
	$(STEP).download --config $(RESOLVED) --out $@

# Every labelled text with its split and label, and the label set; the IMDB tarball is read as a stream.
$(BUILD)/reviews.parquet $(BUILD)/dataset.json &: pipeline/ingest.py pipeline/imdb.py pipeline/formats.py $(CORE) \
		$(BUILD)/settings/data.json $(BUILD)/settings/seed.json $(wildcard $(DATA)) \
		| $(if $(filter $(DATA),$(BUILD)/aclImdb_v1.tar.gz),$(DATA))
	$(STEP).ingest --config $(RESOLVED) --data $(DATA) --out $(BUILD)/reviews.parquet --dataset-info $(BUILD)/dataset.json

# Cleaned, tokenized, encoded texts; the vocabulary comes from the train subset.
$(BUILD)/tokens.npz: pipeline/preprocess.py pipeline/text.py sql/macros.sql $(CORE) $(BUILD)/reviews.parquet \
		$(BUILD)/dataset.json $(BUILD)/settings/text.json
	$(STEP).preprocess --config $(RESOLVED) --reviews $(BUILD)/reviews.parquet --dataset-info $(BUILD)/dataset.json \
		--out $@

# TextBlob sentiment and negation and contrast counts of every text, on both cores.
$(BUILD)/metadata.parquet: pipeline/metadata.py pipeline/sentiment.py pipeline/text.py sql/macros.sql $(CORE) $(BUILD)/reviews.parquet
	$(STEP).metadata --config $(RESOLVED) --reviews $(BUILD)/reviews.parquet --out $@

# Ranked findings about the failures, the slices where each model errs most, and each feature's rank correlation
# with the loss.
$(BUILD)/insights.parquet $(BUILD)/insight_reviews.parquet $(BUILD)/correlations.parquet $(BUILD)/slices.parquet &: \
		pipeline/insights.py pipeline/slices.py pipeline/features.py pipeline/text.py sql/macros.sql $(CORE) $(BUILD)/reviews.parquet $(BUILD)/dataset.json \
		$(BUILD)/metadata.parquet $(BUILD)/tokens.npz $(MODELS:%=$(BUILD)/predictions/%.parquet) \
		$(MAPPED:%=$(BUILD)/clusters/%.parquet) $(BUILD)/settings/insights.json $(BUILD)/settings/slices.json \
		$(BUILD)/settings/seed.json
	$(STEP).insights --config $(RESOLVED) --reviews $(BUILD)/reviews.parquet --dataset-info $(BUILD)/dataset.json \
		--tokens $(BUILD)/tokens.npz --metadata $(BUILD)/metadata.parquet \
		--predictions $(MODELS:%=$(BUILD)/predictions/%.parquet) --clusters $(MAPPED:%=$(BUILD)/clusters/%.parquet) \
		--out $(BUILD)/insights.parquet --members $(BUILD)/insight_reviews.parquet \
		--correlations $(BUILD)/correlations.parquet --slices $(BUILD)/slices.parquet

# A Keras model trained here, and the settings and history of its training.
$(BUILD)/models/%.keras $(BUILD)/training/%.json: pipeline/train.py pipeline/models.py pipeline/registry.py $(CORE) \
		$(BUILD)/tokens.npz $(BUILD)/settings/%.json $(BUILD)/settings/seed.json
	$(STEP).train --config $(RESOLVED) --model $* --tokens $(BUILD)/tokens.npz --out $(BUILD)/models/$*.keras \
		--history $(BUILD)/training/$*.json

# A model brought in (MODEL=), copied beside the database: a .keras file, or a checkpoint's folder; its settings hold
# the file's checksum.
$(foreach model,$(BROUGHT),$(call model_file,$(model))): $(BUILD)/models/%: pipeline/bring.py pipeline/checkpoints.py \
		pipeline/registry.py $(CORE) $$(BUILD)/settings/$$(basename $$*).json
	$(STEP).bring --config $(RESOLVED) --model $(basename $*) --out $@

# Every model that can be run, trained or brought, through the one model interface: its predictions and latent vectors.
$(BUILD)/models/%.json $(BUILD)/predictions/%.parquet $(BUILD)/latent/%.npy: pipeline/score.py pipeline/analysis.py \
		pipeline/adapters.py pipeline/classifier.py pipeline/keras_models.py pipeline/transformer_models.py \
		pipeline/checkpoints.py pipeline/predictions.py pipeline/registry.py pipeline/text.py sql/macros.sql $(CORE) \
		$$(call model_file,$$*) $(BUILD)/reviews.parquet $(BUILD)/tokens.npz $(BUILD)/settings/%.json
	$(STEP).score --config $(RESOLVED) --model $* --weights $(call model_file,$*) --reviews $(BUILD)/reviews.parquet \
		--tokens $(BUILD)/tokens.npz --history $(BUILD)/training/$*.json --summary $(BUILD)/models/$*.json \
		--predictions $(BUILD)/predictions/$*.parquet --latent $(BUILD)/latent/$*.npy

# Predictions made elsewhere (PREDICTIONS=): checked, joined to the texts, with their embeddings where they have them.
define ELSEWHERE_RULE
$(BUILD)/models/$(1).json $(BUILD)/predictions/$(1).parquet $(if $(filter $(1),$(MAPPED)),$(BUILD)/latent/$(1).npy) &: \
		pipeline/elsewhere.py pipeline/formats.py pipeline/predictions.py pipeline/registry.py $(CORE) \
		$(BUILD)/reviews.parquet $(BUILD)/dataset.json $(BUILD)/settings/$(1).json
	$(STEP).elsewhere --config $(RESOLVED) --model $(1) --reviews $(BUILD)/reviews.parquet \
		--dataset-info $(BUILD)/dataset.json --summary $(BUILD)/models/$(1).json \
		--predictions $(BUILD)/predictions/$(1).parquet $(if $(filter $(1),$(MAPPED)),--latent $(BUILD)/latent/$(1).npy)
endef
$(foreach model,$(ELSEWHERE),$(eval $(call ELSEWHERE_RULE,$(model))))

# Integrated gradients of a model for the tokens of its texts (a transformer's: of a chosen set), once it has been
# scored.
$(BUILD)/attributions/%.parquet: pipeline/attributions.py pipeline/analysis.py pipeline/adapters.py \
		pipeline/classifier.py pipeline/keras_models.py pipeline/transformer_models.py pipeline/checkpoints.py \
		pipeline/predictions.py pipeline/registry.py pipeline/text.py sql/macros.sql $(CORE) $$(call model_file,$$*) \
		$(BUILD)/models/%.json $(BUILD)/reviews.parquet $(BUILD)/tokens.npz $(BUILD)/settings/attributions.json \
		$(BUILD)/settings/%.json
	$(STEP).attributions --config $(RESOLVED) --model $* --weights $(call model_file,$*) \
		--reviews $(BUILD)/reviews.parquet --tokens $(BUILD)/tokens.npz --predictions $(BUILD)/predictions/$*.parquet \
		--out $@

# The t-SNE map of a model's latent space.
$(BUILD)/maps/%.npy: pipeline/maps.py $(CORE) $(BUILD)/latent/%.npy $(BUILD)/settings/maps.json $(BUILD)/settings/seed.json
	$(STEP).maps --config $(RESOLVED) --latent $(BUILD)/latent/$*.npy --out $@

# k-means clusters of a model's latent space and the words over-represented in each.
$(BUILD)/clusters/%.parquet $(BUILD)/clusters/%_words.parquet: pipeline/clusters.py pipeline/text.py sql/macros.sql \
		$(CORE) $(BUILD)/latent/%.npy $(BUILD)/tokens.npz $(BUILD)/settings/clusters.json $(BUILD)/settings/seed.json
	$(STEP).clusters --config $(RESOLVED) --latent $(BUILD)/latent/$*.npy --tokens $(BUILD)/tokens.npz \
		--out $(BUILD)/clusters/$*.parquet --words $(BUILD)/clusters/$*_words.parquet

# The TF-IDF + logistic regression reference, analysed through the one model interface too.
$(BUILD)/models/baseline.json $(BUILD)/predictions/baseline.parquet $(BUILD)/attributions/baseline.parquet \
		$(BUILD)/models/baseline.pkl &: \
		pipeline/baseline.py pipeline/classifier.py pipeline/analysis.py pipeline/text.py \
		pipeline/predictions.py pipeline/registry.py sql/macros.sql $(CORE) $(BUILD)/reviews.parquet \
		$(BUILD)/tokens.npz $(BUILD)/settings/baseline.json $(BUILD)/settings/attributions.json \
		$(BUILD)/settings/seed.json
	$(STEP).baseline --config $(RESOLVED) --reviews $(BUILD)/reviews.parquet --tokens $(BUILD)/tokens.npz \
		--summary $(BUILD)/models/baseline.json --predictions $(BUILD)/predictions/baseline.parquet \
		--attributions $(BUILD)/attributions/baseline.parquet --fitted $(BUILD)/models/baseline.pkl

# How far each model's confidence can be trusted, before and after temperature scaling.
CALIBRATION := $(BUILD)/calibration/metrics.parquet $(BUILD)/calibration/reliability.parquet \
	$(BUILD)/calibration/probabilities.parquet
$(CALIBRATION) &: pipeline/calibration.py pipeline/predictions.py $(CORE) $(BUILD)/reviews.parquet \
		$(BUILD)/dataset.json $(MODELS:%=$(BUILD)/predictions/%.parquet) $(BUILD)/settings/calibration.json \
		$(BUILD)/settings/seed.json
	$(STEP).calibration --config $(RESOLVED) --reviews $(BUILD)/reviews.parquet --dataset-info $(BUILD)/dataset.json \
		--predictions $(MODELS:%=$(BUILD)/predictions/%.parquet) --metrics $(word 1,$(CALIBRATION)) \
		--reliability $(word 2,$(CALIBRATION)) --calibrated $(word 3,$(CALIBRATION))

# Behavioural tests: the same changed texts for every model, from a sample of the test split, then each model's
# verdicts on them. The baseline's attributions choose the word the negation test negates.
CASES := $(BUILD)/behaviour/cases.parquet $(BUILD)/behaviour/tests.parquet
$(CASES) &: pipeline/cases.py pipeline/checklist.py pipeline/text.py sql/macros.sql $(CORE) $(BUILD)/reviews.parquet \
		$(BUILD)/dataset.json $(BUILD)/predictions/baseline.parquet $(BUILD)/attributions/baseline.parquet \
		$(BUILD)/settings/behaviour.json $(BUILD)/settings/seed.json $(wildcard $(USER_TESTS))
	$(STEP).cases --config $(RESOLVED) --reviews $(BUILD)/reviews.parquet --dataset-info $(BUILD)/dataset.json \
		--predictions $(BUILD)/predictions/baseline.parquet --attributions $(BUILD)/attributions/baseline.parquet \
		--cases $(word 1,$(CASES)) --tests $(word 2,$(CASES))

# Every model's verdicts, in one process (predictions made elsewhere have no model to run). A model's predictions
# are made from its file, so they stand for it among the prerequisites.
$(RUN:%=$(BUILD)/behaviour/%.parquet) &: pipeline/behaviour.py pipeline/adapters.py pipeline/classifier.py \
		pipeline/keras_models.py pipeline/transformer_models.py pipeline/checkpoints.py pipeline/baseline.py \
		pipeline/analysis.py pipeline/predictions.py pipeline/registry.py pipeline/text.py sql/macros.sql $(CORE) \
		$(RUN:%=$(BUILD)/predictions/%.parquet) $(CASES) $(BUILD)/settings/behaviour.json
	$(STEP).behaviour --config $(RESOLVED) --models $(RUN) \
		--weights $(foreach model,$(RUN),$(call model_file,$(model))) \
		--predictions $(RUN:%=$(BUILD)/predictions/%.parquet) --reviews $(BUILD)/reviews.parquet \
		--tokens $(BUILD)/tokens.npz --cases $(word 1,$(CASES)) --out $(RUN:%=$(BUILD)/behaviour/%.parquet)

# The shared database, written aside and renamed into place when complete.
$(DB): pipeline/build_db.py pipeline/imdb.py pipeline/registry.py pipeline/features.py pipeline/text.py $(CORE) \
		sql/schema.sql sql/macros.sql $(wildcard sql/derive/*.sql) $(BUILD)/dataset.json $(BUILD)/tokens.npz \
		$(BUILD)/settings/models.json $(MODELS:%=$(BUILD)/models/%.json) $(MODELS:%=$(BUILD)/predictions/%.parquet) \
		$(MAPPED:%=$(BUILD)/maps/%.npy) $(MAPPED:%=$(BUILD)/clusters/%.parquet) \
		$(RUN:%=$(BUILD)/attributions/%.parquet) $(BUILD)/metadata.parquet $(BUILD)/insights.parquet $(CALIBRATION) \
		$(CASES) $(RUN:%=$(BUILD)/behaviour/%.parquet)
	$(STEP).build_db --config $(RESOLVED) --reviews $(BUILD)/reviews.parquet --dataset $(BUILD)/dataset.json \
		--tokens $(BUILD)/tokens.npz --metadata $(BUILD)/metadata.parquet \
		--models $(MODELS:%=$(BUILD)/models/%.json) --predictions $(MODELS:%=$(BUILD)/predictions/%.parquet) \
		--latent $(MAPPED:%=$(BUILD)/latent/%.npy) --maps $(MAPPED:%=$(BUILD)/maps/%.npy) \
		--clusters $(MAPPED:%=$(BUILD)/clusters/%.parquet) --cluster-words $(MAPPED:%=$(BUILD)/clusters/%_words.parquet) \
		--attributions $(RUN:%=$(BUILD)/attributions/%.parquet) --insights $(BUILD)/insights.parquet \
		--insight-reviews $(BUILD)/insight_reviews.parquet --correlations $(BUILD)/correlations.parquet \
		--slices $(BUILD)/slices.parquet \
		--calibration $(CALIBRATION) --cases $(CASES) --behaviour $(RUN:%=$(BUILD)/behaviour/%.parquet) --out $@

# The static report, drawn from the database alone.
$(BUILD)/report.html: viewer/report.py viewer/charts.py $(wildcard sql/queries/*.sql) $(DB)
	$(PY) -m viewer.report --db $(DB) --out $@

FORCE:
