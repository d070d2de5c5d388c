# reviewlens: `make help` lists the targets.
# From the data (the IMDB tarball, or a file of labelled texts) to build/reviewlens.duckdb; every step is a file,
# so only what is stale reruns, and steps that do not depend on each other run at the same time.

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
BUILD ?= build
DATA ?= $(BUILD)/aclImdb_v1.tar.gz
CONFIG ?= pipeline/config.toml
CHROMIUM := /usr/bin/chromium
DB := $(BUILD)/reviewlens.duckdb
# Steps run at once where they are independent, as many as there are cores (make -j1: one at a time; the database
# is the same either way).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
MAKEFLAGS += --jobs=$(JOBS)
# Every step is `python -m pipeline STEP` (pipeline/cli.py). It writes the files it read, its modules and the sql/
# files they name, into a dependency file for its target, as compilers write theirs (build/deps/*.d), which make
# includes: a changed module reruns exactly the steps that use it. The rules below name only the data, the settings
# and the files the steps pass to each other.
STEP := $(PY) -m pipeline
export REVIEWLENS_BUILD = $(BUILD)
export REVIEWLENS_TARGET = $(patsubst $(BUILD)/%,%,$(filter $(BUILD)/%,$@))
# The models come from the settings (pipeline/config.toml, CONFIG=), the models given with MODEL= (a .keras file or
# a checkpoint folder, by commas) and PREDICTIONS= (files of predictions made elsewhere): pipeline.settings writes
# the lists of pipeline/registry.py into models.mk, which make reads before anything else, and the whole settings
# into config.json, which every step reads.
MODEL ?=
PREDICTIONS ?=
# Another build's file to compare this one with (its settings, compare.json, hold the file's checksum).
BASE ?=
# The goals that build: only they read the settings and run ingest. Ingest runs while make reads this file, once the
# settings exist (see its rule); make brings the files it includes up to date last to first, so the settings come
# before it.
BUILDING := $(filter all report $(BUILD)/%,$(MAKECMDGOALS))
INGEST_STAMP := $(BUILD)/stamps/ingest.mk
ifneq ($(and $(BUILDING),$(wildcard $(BUILD)/settings/models.mk)),)
include $(INGEST_STAMP)
endif
ifneq ($(BUILDING),)
-include $(BUILD)/settings/models.mk
-include $(wildcard $(BUILD)/deps/*.d)
endif
SETTINGS := $(SETTING_NAMES:%=$(BUILD)/settings/%.json)
RESOLVED := $(BUILD)/settings/config.json
# A model's file beside the database: build/models/<model>.keras, .checkpoint (a folder) or, the baseline's, .pkl.
model_file = $(BUILD)/models/$(1).$(SUFFIX_$(1))
# Each model's output of one kind, e.g. $(call each,predictions,parquet,$(MODELS)).
each = $(foreach model,$(3),$(BUILD)/$(1)/$(model).$(2))

.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
# The database is replaced by a rename, never rewritten in place: make must never delete it.
.PRECIOUS: $(DB)
# The models are kept beside the database, though only steps read them (.SECONDARY with no files would mean
# every file).
ifneq ($(strip $(TRAINED) $(COPIED)),)
.SECONDARY: $(foreach model,$(TRAINED) $(COPIED),$(call model_file,$(model))) $(call each,training,json,$(TRAINED)) \
	$(call each,dynamics,npz,$(TRAINED))
endif
# Rules find a model's file by its suffix from models.mk.
.SECONDEXPANSION:

## Set up the environment and build the database (DATA=your.csv, .parquet, .jsonl or the IMDB tarball; MODEL=your.keras or checkpoint folder; PREDICTIONS=file; BASE=another build's file to compare with)
all: $(DB)

## Open the viewer on the database, on this machine only (ADDRESS=0.0.0.0 serves it to your network)
ADDRESS := localhost
view: $(VENV)/.pipeline
	$(VENV)/bin/streamlit run viewer --server.address $(ADDRESS) -- --db $(DB)

## Exit 1 when this build regresses against BASE=path/to/reviewlens.duckdb, one line per gate crossed (for CI)
check: $(VENV)/.pipeline
	@$(STEP) check --config $(CONFIG) --db $(DB) --base "$(BASE)"

## Write build/report.html: the static report, one file that opens in any browser (pass the DATA= you built with)
report: $(BUILD)/report.html

## Run the test suite (builds its own small data; installs Chromium for the browser tests if missing)
# These run make themselves, each with its own jobs (MAKEFLAGS= keeps this make's job slots, which they cannot use).
test: $(VENV)/.test $(VENV)/.cluster $(CHROMIUM)
	MAKEFLAGS= $(PY) -m pytest

## Run the full pipeline on the real data from scratch and write build/bench.json (ONLY=label_noise,...: those figures)
bench: $(VENV)/.pipeline
	MAKEFLAGS= $(PY) -m bench measure --data $(DATA) --config $(CONFIG) --out $(BUILD)/bench.json $(if $(ONLY),--only $(ONLY))

## Time every step, the database and the viewer on texts made from IMDB: 50,000, 200,000 and N=1000000 (SIZES= others)
N ?= 1000000
SIZES ?= 50000 200000 $(N)
bench-scale: $(VENV)/.pipeline
	MAKEFLAGS= $(PY) -m bench scale --data $(DATA) --config $(CONFIG) --sizes "$(SIZES)" --up-to $(N) --out $(BUILD)/bench.json \
		$(if $(KEEP),--keep)

## Check style with ruff
lint: $(VENV)/.test
	$(VENV)/bin/ruff check pipeline viewer bench tests

## Delete everything the pipeline built (the virtual environment stays)
clean:
	rm -rf $(BUILD)

## List the targets
help:
	@awk '/^## /{doc=substr($$0, 4); next} /^[a-z-]+:/{if (doc) printf "  make %-11s %s\n", substr($$1, 1, length($$1)-1), doc; doc=""}' $(MAKEFILE_LIST)

.PHONY: all view check report test bench bench-scale lint clean help FORCE

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

# Ray, for the per-text steps on a cluster: installed from its own lock only when RAY_ADDRESS is set, and for the
# tests; a build without it neither installs nor imports Ray.
CLUSTER_LOCK := requirements-cluster.lock
$(VENV)/.cluster: $(CLUSTER_LOCK) $(VENV)/.pipeline
	$(PY) -m pip install --quiet --no-deps -r $(CLUSTER_LOCK)
	touch $@

## Refresh requirements.lock from pyproject.toml, keeping the current pins that still fit (UPGRADE=1: newest releases)
lock: | $(VENV)/bin/python
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile pyproject.toml --extra pipeline --extra test --universal --quiet \
		--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade) --output-file $(LOCK)
	$(VENV)/bin/uv pip compile pyproject.toml --extra cluster --constraint $(LOCK) --universal --quiet \
		--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade) --output-file $(CLUSTER_LOCK)

.PHONY: lock

# Debian's Chromium, which Playwright drives in the browser tests (never a downloaded browser).
$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tests"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null \
		|| { echo "error: could not install Chromium; run: sudo apt-get install chromium" >&2; exit 1; }

# --- pipeline --------------------------------------------------------------------------------

# One file per settings table, rewritten only when its content changes, so a new CNN setting
# retrains the CNN and nothing else; config.json, all of them; and models.mk, the models these rules follow.
$(BUILD)/settings/models.mk $(RESOLVED) $(SETTINGS) &: FORCE $(VENV)/.pipeline $(if $(RAY_ADDRESS),$(VENV)/.cluster)
	@$(STEP) settings --config $(CONFIG) --given MODEL="$(MODEL)" PREDICTIONS="$(PREDICTIONS)" --base "$(BASE)" \
		--db $(DB) --out-dir $(BUILD)/settings

# Download the official tarball, only when no DATA= was given.
$(BUILD)/aclImdb_v1.tar.gz: | $(VENV)/.pipeline $(BUILD)/settings/data.json
	$(STEP) download --config $(RESOLVED) --out $@

# Every labelled text with its split and label, and the label set; the IMDB tarball is read as a stream. The stamp
# says when ingest last ran; the texts are rewritten only when they change. Make brings the stamp up to date while it
# reads this file (it is included above) and then starts again, so it sees the texts' times after ingest: a change to
# the readers that reads the same texts reruns nothing after it. `make -n` runs ingest too, when it is out of date.
$(INGEST_STAMP): $(BUILD)/settings/data.json $(BUILD)/settings/seed.json $(wildcard $(DATA)) \
		$(if $(filter 2,$(words $(wildcard $(BUILD)/texts.parquet $(BUILD)/dataset.json))),,FORCE) \
		| $(if $(filter $(DATA),$(BUILD)/aclImdb_v1.tar.gz),$(DATA))
	$(STEP) ingest --config $(RESOLVED) --data $(DATA) --out $(BUILD)/texts.parquet --dataset-info $(BUILD)/dataset.json
	@mkdir -p $(@D) && echo "# ingest ran; the texts are in texts.parquet" > $@

# Cleaned, tokenized, encoded texts; the vocabulary comes from the train subset.
$(BUILD)/tokens.npz: $(BUILD)/texts.parquet $(BUILD)/dataset.json $(BUILD)/settings/text.json
	$(STEP) preprocess --config $(RESOLVED) --texts $(BUILD)/texts.parquet --dataset-info $(BUILD)/dataset.json --out $@

# TextBlob sentiment and negation and contrast counts of every text.
$(BUILD)/metadata.parquet: $(BUILD)/texts.parquet
	$(STEP) metadata --config $(RESOLVED) --texts $(BUILD)/texts.parquet --out $@

# A Keras model trained here, the settings and history of its training, and its training dynamics.
$(BUILD)/models/%.keras $(BUILD)/training/%.json $(BUILD)/dynamics/%.npz: $(BUILD)/tokens.npz \
		$(BUILD)/settings/%.json $(BUILD)/settings/dynamics.json $(BUILD)/settings/seed.json
	$(STEP) train --config $(RESOLVED) --model $* --tokens $(BUILD)/tokens.npz --out $(BUILD)/models/$*.keras \
		--history $(BUILD)/training/$*.json --dynamics $(BUILD)/dynamics/$*.npz

# A model given with MODEL=, checked and copied beside the database: a .keras file, or a checkpoint's folder; its
# settings hold the file's checksum.
$(foreach model,$(COPIED),$(call model_file,$(model))): $(BUILD)/models/%: $$(BUILD)/settings/$$(basename $$*).json
	$(STEP) copy_model --config $(RESOLVED) --model $(basename $*) --out $@

# Every model that can be run through the one model interface, trained here or given: its predictions, latent vectors
# and integrated gradients (a transformer's: of a chosen set), in one pass over the texts.
$(BUILD)/models/%.json $(BUILD)/predictions/%.parquet $(BUILD)/latent/%.npy $(BUILD)/attributions/%.parquet: \
		$$(call model_file,$$*) $(BUILD)/texts.parquet $(BUILD)/tokens.npz $(BUILD)/settings/%.json \
		$(BUILD)/settings/attributions.json
	$(STEP) predict --config $(RESOLVED) --model $* --weights $(call model_file,$*) --texts $(BUILD)/texts.parquet \
		--tokens $(BUILD)/tokens.npz --history $(BUILD)/training/$*.json --summary $(BUILD)/models/$*.json \
		--predictions $(BUILD)/predictions/$*.parquet --latent $(BUILD)/latent/$*.npy \
		--attributions $(BUILD)/attributions/$*.parquet

# Predictions made elsewhere (PREDICTIONS=): checked, joined to the texts, with their embeddings where they have them.
define IMPORT_RULE
$(BUILD)/models/$(1).json $(BUILD)/predictions/$(1).parquet $(if $(filter $(1),$(MAPPED)),$(BUILD)/latent/$(1).npy) &: \
		$(BUILD)/texts.parquet $(BUILD)/dataset.json $(BUILD)/settings/$(1).json
	$$(STEP) import_predictions --config $(RESOLVED) --model $(1) --texts $(BUILD)/texts.parquet \
		--dataset-info $(BUILD)/dataset.json --summary $(BUILD)/models/$(1).json \
		--predictions $(BUILD)/predictions/$(1).parquet $(if $(filter $(1),$(MAPPED)),--latent $(BUILD)/latent/$(1).npy)
endef
$(foreach model,$(IMPORTED),$(eval $(call IMPORT_RULE,$(model))))

# The TF-IDF + logistic regression reference, fitted, then analysed through the one model interface too.
$(BUILD)/models/baseline.json $(BUILD)/predictions/baseline.parquet $(BUILD)/attributions/baseline.parquet \
		$(BUILD)/models/baseline.pkl &: $(BUILD)/texts.parquet $(BUILD)/tokens.npz $(BUILD)/settings/baseline.json \
		$(BUILD)/settings/attributions.json $(BUILD)/settings/seed.json
	$(STEP) baseline --config $(RESOLVED) --texts $(BUILD)/texts.parquet --tokens $(BUILD)/tokens.npz \
		--summary $(BUILD)/models/baseline.json --predictions $(BUILD)/predictions/baseline.parquet \
		--attributions $(BUILD)/attributions/baseline.parquet --fitted $(BUILD)/models/baseline.pkl

# The t-SNE map of a model's latent space.
$(BUILD)/maps/%.npy: $(BUILD)/latent/%.npy $(BUILD)/settings/maps.json $(BUILD)/settings/seed.json
	$(STEP) maps --config $(RESOLVED) --latent $(BUILD)/latent/$*.npy --out $@

# k-means clusters of a model's latent space and the words over-represented in each.
$(BUILD)/clusters/%.parquet $(BUILD)/clusters/%_words.parquet: $(BUILD)/latent/%.npy $(BUILD)/tokens.npz \
		$(BUILD)/settings/clusters.json $(BUILD)/settings/seed.json
	$(STEP) clusters --config $(RESOLVED) --latent $(BUILD)/latent/$*.npy --tokens $(BUILD)/tokens.npz \
		--out $(BUILD)/clusters/$*.parquet --words $(BUILD)/clusters/$*_words.parquet

# Data maps and label quality: the training dynamics of the models trained here (and of given models with a dynamics
# file), the baseline cross-validated over the training texts, and the final models' probabilities on the test split.
DYNAMICS := $(BUILD)/dynamics/epochs.parquet $(BUILD)/dynamics/maps.parquet $(BUILD)/label_quality.parquet
$(DYNAMICS) &: $(call each,dynamics,npz,$(TRAINED)) $(call each,predictions,parquet,$(MODELS)) $(BUILD)/texts.parquet \
		$(BUILD)/tokens.npz $(BUILD)/settings/dynamics.json $(BUILD)/settings/baseline.json $(BUILD)/settings/seed.json \
		$(foreach model,$(COPIED) $(IMPORTED),$(BUILD)/settings/$(model).json)
	$(STEP) label_quality --config $(RESOLVED) --texts $(BUILD)/texts.parquet --tokens $(BUILD)/tokens.npz \
		--dynamics $(call each,dynamics,npz,$(TRAINED)) --predictions $(call each,predictions,parquet,$(MODELS)) \
		--epochs $(word 1,$(DYNAMICS)) --maps $(word 2,$(DYNAMICS)) --out $(word 3,$(DYNAMICS))

# Ranked findings about the failures, the slices where each model errs most, and each feature's rank correlation
# with the loss.
INSIGHTS := $(BUILD)/insights.parquet $(BUILD)/insight_texts.parquet $(BUILD)/correlations.parquet \
	$(BUILD)/slices.parquet
$(INSIGHTS) &: $(BUILD)/texts.parquet $(BUILD)/dataset.json $(BUILD)/metadata.parquet $(BUILD)/tokens.npz \
		$(call each,predictions,parquet,$(MODELS)) $(call each,clusters,parquet,$(MAPPED)) $(word 3,$(DYNAMICS)) \
		$(BUILD)/settings/insights.json $(BUILD)/settings/slices.json $(BUILD)/settings/seed.json
	$(STEP) insights --config $(RESOLVED) --texts $(BUILD)/texts.parquet --dataset-info $(BUILD)/dataset.json \
		--label-quality $(word 3,$(DYNAMICS)) \
		--tokens $(BUILD)/tokens.npz --metadata $(BUILD)/metadata.parquet \
		--predictions $(call each,predictions,parquet,$(MODELS)) --clusters $(call each,clusters,parquet,$(MAPPED)) \
		--out $(word 1,$(INSIGHTS)) --insight-texts $(word 2,$(INSIGHTS)) --correlations $(word 3,$(INSIGHTS)) \
		--slices $(word 4,$(INSIGHTS))

# How far each model's confidence can be trusted, before and after temperature scaling.
CALIBRATION := $(BUILD)/calibration/metrics.parquet $(BUILD)/calibration/reliability.parquet \
	$(BUILD)/calibration/probabilities.parquet
$(CALIBRATION) &: $(BUILD)/texts.parquet $(BUILD)/dataset.json $(call each,predictions,parquet,$(MODELS)) \
		$(BUILD)/settings/calibration.json $(BUILD)/settings/seed.json
	$(STEP) calibration --config $(RESOLVED) --texts $(BUILD)/texts.parquet --dataset-info $(BUILD)/dataset.json \
		--predictions $(call each,predictions,parquet,$(MODELS)) --metrics $(word 1,$(CALIBRATION)) \
		--reliability $(word 2,$(CALIBRATION)) --calibrated $(word 3,$(CALIBRATION))

# Behavioural tests: the same changed texts for every model, from a sample of the test split, then each model's
# verdicts on them. The baseline's attributions choose the word the negation test negates.
CASES := $(BUILD)/behaviour/cases.parquet $(BUILD)/behaviour/tests.parquet
$(CASES) &: $(BUILD)/texts.parquet $(BUILD)/dataset.json $(BUILD)/predictions/baseline.parquet \
		$(BUILD)/attributions/baseline.parquet $(BUILD)/settings/behaviour.json $(BUILD)/settings/seed.json \
		$(wildcard $(USER_TESTS))
	$(STEP) cases --config $(RESOLVED) --texts $(BUILD)/texts.parquet --dataset-info $(BUILD)/dataset.json \
		--predictions $(BUILD)/predictions/baseline.parquet --attributions $(BUILD)/attributions/baseline.parquet \
		--cases $(word 1,$(CASES)) --tests $(word 2,$(CASES))

# Every model's verdicts, in one process (predictions made elsewhere have no model to run). A model's predictions
# are made from its file, so they stand for it among the prerequisites.
$(call each,behaviour,parquet,$(RUN)) &: $(call each,predictions,parquet,$(RUN)) $(CASES) \
		$(BUILD)/settings/behaviour.json
	$(STEP) verdicts --config $(RESOLVED) --models $(RUN) \
		--weights $(foreach model,$(RUN),$(call model_file,$(model))) \
		--predictions $(call each,predictions,parquet,$(RUN)) --texts $(BUILD)/texts.parquet \
		--tokens $(BUILD)/tokens.npz --cases $(word 1,$(CASES)) --out $(call each,behaviour,parquet,$(RUN))

# The shared database, written aside and renamed into place when complete. Make starts the steps in the order of
# these prerequisites, as far as they are ready: the longest first (the maps, then the attributions), so that no core
# is left waiting on a long step at the end.
$(DB): $(call each,maps,npy,$(MAPPED)) $(call each,attributions,parquet,$(RUN)) \
		$(call each,behaviour,parquet,$(RUN)) $(CASES) $(INSIGHTS) $(CALIBRATION) $(call each,clusters,parquet,$(MAPPED)) \
		$(call each,clusters,parquet,$(MAPPED:%=%_words)) $(call each,latent,npy,$(MAPPED)) \
		$(call each,models,json,$(MODELS)) $(call each,predictions,parquet,$(MODELS)) $(BUILD)/metadata.parquet \
		$(BUILD)/texts.parquet $(BUILD)/dataset.json $(BUILD)/tokens.npz $(BUILD)/settings/models.json \
		$(BUILD)/settings/compare.json $(BUILD)/settings/database.json $(DYNAMICS)
	$(STEP) build_db --config $(RESOLVED) --texts $(BUILD)/texts.parquet --dataset-info $(BUILD)/dataset.json \
		--tokens $(BUILD)/tokens.npz --metadata $(BUILD)/metadata.parquet \
		--models $(call each,models,json,$(MODELS)) --predictions $(call each,predictions,parquet,$(MODELS)) \
		--latent $(call each,latent,npy,$(MAPPED)) --maps $(call each,maps,npy,$(MAPPED)) \
		--clusters $(call each,clusters,parquet,$(MAPPED)) \
		--cluster-words $(call each,clusters,parquet,$(MAPPED:%=%_words)) \
		--attributions $(call each,attributions,parquet,$(RUN)) --insights $(word 1,$(INSIGHTS)) \
		--insight-texts $(word 2,$(INSIGHTS)) --correlations $(word 3,$(INSIGHTS)) --slices $(word 4,$(INSIGHTS)) \
		--calibration $(CALIBRATION) --cases $(CASES) --behaviour $(call each,behaviour,parquet,$(RUN)) \
		--dynamics $(DYNAMICS) --out $@

# The static report, drawn from the database alone.
$(BUILD)/report.html: $(DB)
	$(PY) -m viewer.report --db $(DB) --out $@

FORCE:
