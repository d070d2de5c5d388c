-- The reviewlens database: every table, every column documented.
-- Built by pipeline/database/build_db.py; opened read-only by the viewer and by anyone with DuckDB >= 1.2.
-- Three placeholders in double braces are filled at build time (pipeline/database/build_db.py): the largest of the
-- neural models' latent sizes, and the columns of what the pipeline measures on every text with their comments
-- (pipeline/whole_set/features.py). The columns of the user's data beyond text, label, split and id are added to
-- `texts` at build time, and the views over the metadata features (text_features, text_categories) are made from
-- pipeline/whole_set/features.py.
-- A "text" is any labelled text: an IMDB review, a support ticket, a question.
-- The large per-text tables declare no primary or foreign keys: DuckDB stores an index for each,
-- which cost about 40 MB here. The tests check their keys and references on every build instead.

create table meta (
    key varchar primary key,
    value varchar not null
);
comment on table meta is 'How this file was built: schema version, dataset checksum, settings, library versions, build time.';
comment on column meta.key is 'Name of the fact: schema_version, dataset_file, dataset_sha256, dataset_kind (imdb or table), split_source (given or made), config, config_digest, versions, built_at, storage (file: every table in this file; parquet: texts, predictions, latent_space and attributions are views of Parquet parts) and, with parquet, parts (their folder, relative to this file''s).';
comment on column meta.value is 'The fact as text; config and versions are JSON.';

create table labels (
    label varchar primary key,
    label_index integer not null unique check (label_index >= 0),
    texts integer not null check (texts > 0),
    train_texts integer not null check (train_texts >= 0)
);
comment on table labels is 'The label set, read from the data: one row per class.';
comment on column labels.label is 'The class, by name (integer labels as their decimal text).';
comment on column labels.label_index is 'Position of the class in the models'' outputs and in predictions.probabilities, from 0.';
comment on column labels.texts is 'Texts with this label, all splits.';
comment on column labels.train_texts is 'Texts with this label the models were fitted on (subset train).';

create table texts (
    text_id integer primary key,
    source_id varchar,
    split varchar not null check (split in ('train', 'validation', 'test')),
    subset varchar not null check (subset in ('train', 'validation', 'test')),
    label varchar not null,
    -- zstd: texts take a quarter of the space they take uncompressed.
    text varchar not null using compression zstd,
    -- Every list of texts shows this, so that a list does not decompress every text to cut its start.
    snippet varchar not null{{measures}}
);
comment on table texts is 'One row per labelled text of the data, every split; the data''s own extra columns follow the built-in ones.';
comment on column texts.text_id is 'Stable id: the order of the data file (IMDB: train before test, negative before positive, then by file id).';
comment on column texts.source_id is 'The text''s id in the data: its id column, or its path in the IMDB tarball; null when the data has none.';
comment on column texts.split is 'Split: from the data''s split column (IMDB: its folders), or made by a seeded stratified split (meta split_source).';
comment on column texts.subset is 'Role in training: train, validation (given, or held out of the train split) or test.';
comment on column texts.label is 'Ground truth: one of the labels table.';
comment on column texts.text is 'Raw text, HTML residue included.';
comment on column texts.snippet is 'The start of the text for lists and tooltips: its first 160 characters, line breaks as spaces (the snippet() macro).';
{{measure comments}}
create table model_kinds (
    kind varchar primary key,
    title varchar not null,
    given_with varchar check (given_with in ('MODEL', 'PREDICTIONS')),
    address boolean not null,
    no_dynamics varchar,
    rank integer not null unique
);
comment on table model_kinds is 'The kinds of model reviewlens analyses (pipeline/registry.py): trained here, given by the user, or the baseline.';
comment on column model_kinds.kind is 'Name of the kind: trained, served, onnx, keras, transformer, chat, predictions, baseline.';
comment on column model_kinds.title is 'Where such a model comes from, as the pages say it.';
comment on column model_kinds.given_with is 'The make variable that gives one (MODEL or PREDICTIONS); null for those built in or given in the settings (an LLM).';
comment on column model_kinds.address is 'Whether such a model is called at an address (a served model, an LLM): models.file is that address.';
comment on column model_kinds.no_dynamics is 'Why a model of this kind has no training dynamics (null: trained here, it has them).';
comment on column model_kinds.rank is 'Order of the kinds.';

create table models (
    model varchar primary key,
    rank integer not null unique,
    kind varchar not null references model_kinds (kind),
    architecture varchar,
    file varchar,
    sha256 varchar,
    compared boolean not null,
    mapped boolean not null,
    attributed boolean not null,
    tested boolean not null,
    has_probabilities boolean not null,
    no_attributions varchar check ((no_attributions is null) = attributed),
    attributed_texts integer not null default 0 check (attributed_texts >= 0),
    no_behaviour varchar check ((no_behaviour is null) = tested),
    no_probabilities varchar check ((no_probabilities is null) = has_probabilities),
    description varchar not null,
    parameters bigint check (parameters > 0),
    epochs integer check (epochs > 0),
    latent_dim integer check (latent_dim > 0) check ((latent_dim is not null) = mapped),
    seed_accuracy double check (seed_accuracy between 0 and 1),
    seed_loss double check (seed_loss >= 0),
    temperature double check (temperature > 0),
    heat_maps varchar check ((heat_maps is null) = (not attributed)),
    calls_per_text double check (calls_per_text > 0),
    off_label integer check (off_label >= 0)
);
comment on table models is 'The models compared: those of the models setting, trained here or given as a file (MODEL=) or as predictions (PREDICTIONS=), and the TF-IDF baseline.';
comment on column models.model is 'Short name, as in the settings: dense, cnn, ..., a given model''s file name, and baseline.';
comment on column models.rank is 'Order of the models on the pages: as in the models setting, then the baseline.';
comment on column models.kind is 'Its kind (model_kinds.kind): trained (a Keras model trained here), served (a model served over HTTP), onnx (an ONNX export), keras (a Keras model file), transformer (a fine-tuned transformer checkpoint), chat (an LLM classifier behind a chat endpoint), predictions (predictions made elsewhere) or baseline (scikit-learn).';
comment on column models.architecture is 'dense, cnn or another architecture of the settings for a model trained here; null for the others.';
comment on column models.file is 'A given model: the file (or checkpoint or ONNX folder) it was read from, or the address it was called at.';
comment on column models.sha256 is 'A given model: the SHA-256 checksum of its file (of a folder: of its files and their names; of a model called at an address: of the address, its model, prompt and version settings).';
comment on column models.compared is 'Whether it is one of the models compared with each other (cohorts, training curves, the loss change between two models): every model but the baseline, the reference they are held against.';
comment on column models.mapped is 'Whether it has a latent space (latent_space): the map, the clusters and similar texts.';
comment on column models.attributed is 'Whether it has attributions (heat maps); no_attributions says why not.';
comment on column models.tested is 'Whether it ran the behavioural tests; no_behaviour says why not.';
comment on column models.has_probabilities is 'Whether it gives probabilities, so a loss and a calibration; no_probabilities says why not.';
comment on column models.no_attributions is 'Why the model has no attributions (e.g. no embedding layer, or predictions made elsewhere); null when it has them.';
comment on column models.attributed_texts is 'Texts with attributions: every text, or for a transformer a chosen set (its misclassified test texts and a sample; settings attribute_errors, attribute_sample, attribute_all).';
comment on column models.no_behaviour is 'Why the model has no behavioural test results (predictions made elsewhere: no model to run); null when it has them.';
comment on column models.no_probabilities is 'Why the model has no probabilities, loss or calibration (predicted classes alone); null when it has them.';
comment on column models.description is 'Architecture in one line.';
comment on column models.parameters is 'Number of trained parameters (coefficients for the baseline); null for predictions made elsewhere.';
comment on column models.epochs is 'Training epochs; null for a model not trained here.';
comment on column models.latent_dim is 'Size of the pooled representation before the classifier; null for a model without a latent space.';
comment on column models.seed_accuracy is 'IMDB only: test accuracy reported by the Tensorleap study this reproduces; null where it reports none.';
comment on column models.seed_loss is 'Test loss reported by the Tensorleap study; null where it reports none.';
comment on column models.heat_maps is 'How its heat maps are made: integrated gradients, exact (the baseline, the dense architecture), occlusion (each word left out in turn) or partition SHAP (halves of the text left out); null without heat maps.';
comment on column models.calls_per_text is 'Heat maps made by calling the model (occlusion, partition SHAP): the model calls a text took, on average; null for gradients.';
comment on column models.off_label is 'An LLM classifier: its answers to the data''s texts that named no label (off_label_answers lists them); null for other models.';
comment on column models.temperature is 'Temperature scaling: the logits divided by this (fitted on the validation hold-out; 1 without one) give predictions.calibrated. Above 1: the model was overconfident. Null without probabilities.';

create table predictions (
    text_id integer not null,
    model varchar not null,
    probabilities float[],
    predicted_label varchar not null,
    loss float check (loss >= 0),
    confidence float check (confidence between 0 and 1),
    correct boolean not null,
    calibrated float[]
);
comment on table predictions is 'One row per text and model.';
comment on column predictions.text_id is 'The text (texts.text_id).';
comment on column predictions.model is 'The model (models.model).';
comment on column predictions.probabilities is 'Predicted probability of every class, in labels.label_index order (list_extract is 1-based: probabilities[label_index + 1]); null for a model of predicted classes alone (models.no_probabilities), and so are loss, confidence and calibrated.';
comment on column predictions.predicted_label is 'The class with the highest probability.';
comment on column predictions.loss is 'Cross-entropy of the true label: -ln p(label), probabilities clipped at 1e-7.';
comment on column predictions.confidence is 'Probability of the predicted label, from 1/classes (unsure) to 1.';
comment on column predictions.correct is 'True when predicted_label equals the text''s label.';
comment on column predictions.calibrated is 'The probabilities after temperature scaling (models.temperature): the same predicted class, a confidence that can be trusted more.';

create table off_label_answers (
    model varchar not null references models (model),
    text_id integer not null,
    answer varchar not null
);
comment on table off_label_answers is 'An LLM classifier''s answers that named no label, for the data''s texts (the first 200 per model; models.off_label counts them all). Their probabilities are the labels'' share of the answer''s first-token alternatives, or equal where the labels have none.';
comment on column off_label_answers.model is 'The model (models.model).';
comment on column off_label_answers.text_id is 'The text (texts.text_id).';
comment on column off_label_answers.answer is 'What it answered (its first 300 characters).';

create table training_batches (
    model varchar not null references models (model),
    step integer not null check (step > 0),
    epoch integer not null check (epoch > 0),
    batch integer not null check (batch > 0),
    loss double not null check (loss >= 0),
    accuracy double not null check (accuracy between 0 and 1),
    primary key (model, step)
);
comment on table training_batches is 'Training curve of each Keras model, one row per batch.';
comment on column training_batches.model is 'The model (models.model).';
comment on column training_batches.step is 'Batch number counted from the start of training.';
comment on column training_batches.epoch is 'Epoch, from 1.';
comment on column training_batches.batch is 'Batch within the epoch, from 1.';
comment on column training_batches.loss is 'Training loss on this batch alone (recovered from the running means Keras reports).';
comment on column training_batches.accuracy is 'Training accuracy on this batch alone.';

create table training_epochs (
    model varchar not null references models (model),
    epoch integer not null check (epoch > 0),
    loss double not null check (loss >= 0),
    accuracy double not null check (accuracy between 0 and 1),
    val_loss double check (val_loss >= 0),
    val_accuracy double check (val_accuracy between 0 and 1),
    primary key (model, epoch)
);
comment on table training_epochs is 'Loss and accuracy of each Keras model at the end of every epoch.';
comment on column training_epochs.model is 'The model (models.model).';
comment on column training_epochs.epoch is 'Epoch, from 1.';
comment on column training_epochs.loss is 'Mean training loss over the epoch.';
comment on column training_epochs.accuracy is 'Mean training accuracy over the epoch.';
comment on column training_epochs.val_loss is 'Loss on the validation hold-out after the epoch; null without a hold-out.';
comment on column training_epochs.val_accuracy is 'Accuracy on the validation hold-out after the epoch.';

create table latent_space (
    text_id integer not null,
    model varchar not null,
    latent float[{{latent_dim}}] not null,
    x float not null,
    y float not null,
    cluster smallint not null check (cluster >= 0)
);
comment on table latent_space is 'Where each neural model places each text: its latent vector, its point on the t-SNE map, its k-means cluster.';
comment on column latent_space.text_id is 'The text (texts.text_id).';
comment on column latent_space.model is 'The model (models.model), a neural one.';
comment on column latent_space.latent is 'Pooled representation before the classifier, zero-padded to the largest model''s size (padding changes no distance).';
comment on column latent_space.x is 't-SNE map, first coordinate.';
comment on column latent_space.y is 't-SNE map, second coordinate.';
comment on column latent_space.cluster is 'k-means cluster of the latent vector, from 0.';

create table clusters (
    model varchar not null references models (model),
    cluster smallint not null check (cluster >= 0),
    texts integer not null check (texts > 0),
    top_label varchar not null,
    top_label_share double not null check (top_label_share between 0 and 1),
    accuracy double not null check (accuracy between 0 and 1),
    mean_loss double not null check (mean_loss >= 0),
    mean_confidence double not null check (mean_confidence between 0 and 1),
    mean_tokens double not null,
    mean_oov double not null,
    mean_oov_rate double not null check (mean_oov_rate between 0 and 1),
    share_truncated double not null check (share_truncated between 0 and 1),
    primary key (model, cluster)
);
comment on table clusters is 'Each k-means cluster of each model, with its size, accuracy, loss and mean metadata over all texts in it.';
comment on column clusters.model is 'The model (models.model).';
comment on column clusters.cluster is 'Cluster number (latent_space.cluster).';
comment on column clusters.texts is 'Texts in the cluster, both splits.';
comment on column clusters.top_label is 'Its most common label.';
comment on column clusters.top_label_share is 'Share of its texts with that label.';
comment on column clusters.accuracy is 'Share of its texts the model gets right.';
comment on column clusters.mean_loss is 'Mean loss of the model on its texts.';
comment on column clusters.mean_confidence is 'Mean confidence of the model on its texts.';
comment on column clusters.mean_tokens is 'Mean text length in tokens.';
comment on column clusters.mean_oov is 'Mean count of out-of-vocabulary tokens.';
comment on column clusters.mean_oov_rate is 'Mean share of out-of-vocabulary tokens.';
comment on column clusters.share_truncated is 'Share of its texts cut to the models'' sequence length.';

create table cluster_words (
    model varchar not null references models (model),
    cluster smallint not null,
    rank smallint not null check (rank > 0),
    word varchar not null,
    share_in_cluster float not null check (share_in_cluster between 0 and 1),
    share_elsewhere float not null check (share_elsewhere between 0 and 1),
    z_score float not null,
    primary key (model, cluster, rank)
);
comment on table cluster_words is 'Words over-represented in each cluster against all other texts, best first.';
comment on column cluster_words.model is 'The model (models.model).';
comment on column cluster_words.cluster is 'Cluster number (clusters.cluster).';
comment on column cluster_words.rank is 'Rank within the cluster, from 1.';
comment on column cluster_words.word is 'The word, as the models see it (cleaned, in the vocabulary).';
comment on column cluster_words.share_in_cluster is 'Share of the cluster''s texts that contain the word.';
comment on column cluster_words.share_elsewhere is 'Share of the other texts that contain the word.';
comment on column cluster_words.z_score is 'z-score of the log-odds ratio with an informative Dirichlet prior (Monroe et al., 2008); above 2 is notable.';

create table attributions (
    text_id integer not null,
    model varchar not null,
    scores tinyint[] not null,
    scale float not null check (scale > 0),
    target_text float[] not null,
    target_baseline float[] not null,
    score_sum float[] not null
);
comment on table attributions is 'Heat maps of each model for each text: how much each token the model read pushes toward each class, by integrated gradients (exact for the baseline and the dense architecture), or by calling the model with words left out (models.heat_maps). Read it through the token_attributions view.';
comment on column attributions.text_id is 'The text (texts.text_id).';
comment on column attributions.model is 'The model (models.model); a model with no_attributions has none.';
comment on column attributions.scores is 'Token by token, one score toward each class from label_index 1 on (class 0''s is minus their sum), in units of scale (int8: score = value * scale); padding has none.';
comment on column attributions.scale is 'Size of one unit of scores: the text''s largest absolute score / 127.';
comment on column attributions.target_text is 'For each class from label_index 1 on: its logit minus the mean logit (the log-probability minus the mean, for heat maps made by calling the model), at the text.';
comment on column attributions.target_baseline is 'The same at the attribution baseline: every token''s embedding set to zero (for the TF-IDF model and heat maps made by calling the model: no tokens, the empty text).';
comment on column attributions.score_sum is 'For each class from label_index 1 on: the sum of the unrounded scores; completeness says it equals target_text - target_baseline (not for occlusion, whose scores are each taken alone).';

create view token_attributions as
with

stored as (
    -- Scores are stored for classes 1 to n-1, token by token.
    select count(*) - 1 as classes from labels
),

unnested as (
    -- Unnesting in a subquery lets a filter on text_id reach the tables, so tokens() runs only on the
    -- texts asked for.
    select
        attributions.text_id,
        attributions.model,
        attributions.scores,
        attributions.scale,
        tokens(texts.text) as tokens,
        unnest(range(1, len(attributions.scores) // stored.classes + 1)) as position,
        stored.classes
    from attributions
    join texts using (text_id)
    cross join stored
)

select
    unnested.text_id,
    unnested.model,
    unnested.position,
    unnested.tokens[unnested.position] as token,
    labels.label,
    unnested.scale * case
        when labels.label_index = 0
            then -list_sum(unnested.scores[(unnested.position - 1) * unnested.classes + 1:unnested.position * unnested.classes])
        else unnested.scores[(unnested.position - 1) * unnested.classes + labels.label_index]
    end as score
from unnested
cross join labels;
comment on view token_attributions is 'One row per text, model, token the model saw and class: its integrated-gradients score toward that class (negative: away from it). With two classes, the score toward one is minus the score toward the other.';

create table insights (
    insight_id integer primary key,
    model varchar references models (model),
    kind varchar not null check (kind in ('cluster', 'range', 'category', 'slice', 'mislabelled', 'duplicates')),
    title varchar not null,
    texts integer not null check (texts > 0),
    mean_loss double,
    loss_ratio double,
    importance double not null
);
comment on table insights is 'Findings about where the models fail, computed by the pipeline, most important first.';
comment on column insights.insight_id is 'Rank of the finding, from 1 (most important).';
comment on column insights.model is 'The model it is about; null for findings about the data (mislabelled, duplicates).';
comment on column insights.kind is 'cluster (a high-loss cluster), range (a high-loss range of one numeric feature), category (a high-loss value of a category column), slice (one of the best slices, see slices), mislabelled or duplicates.';
comment on column insights.title is 'The finding in one sentence, written from the numbers.';
comment on column insights.texts is 'Texts it is about (insight_texts).';
comment on column insights.mean_loss is 'Their mean loss (test split for cluster, range, category and slice; every neural model for mislabelled).';
comment on column insights.loss_ratio is 'Their mean loss over the model''s mean test loss.';
comment on column insights.importance is 'Share of the loss the finding accounts for beyond the mean (cluster, range, category, slice), share of all loss (mislabelled), or share of texts (duplicates).';

create table insight_texts (
    insight_id integer not null,
    rank integer not null check (rank > 0),
    text_id integer not null
);
comment on table insight_texts is 'The texts each finding is about, worst or most telling first.';
comment on column insight_texts.insight_id is 'The finding (insights.insight_id).';
comment on column insight_texts.rank is 'Order within the finding, from 1.';
comment on column insight_texts.text_id is 'The text (texts.text_id).';

create table slices (
    model varchar not null references models (model),
    slice integer not null check (slice > 0),
    level integer not null check (level between 1 and 3),
    predicates varchar[] not null,
    description varchar not null,
    size integer not null check (size > 0),
    errors integer not null check (errors > 0),
    error_rate double not null check (error_rate between 0 and 1),
    ci_low double not null,
    ci_high double not null,
    mean_loss double check (mean_loss >= 0),
    score double not null check (score > 0),
    model_error_rate double not null check (model_error_rate between 0 and 1),
    primary key (model, slice)
);
comment on table slices is 'Slices of the test split where a model errs far more often than overall: conjunctions of up to three simple facts about the texts (a quartile of a numeric feature, a category value, a negation word or none, a frequent word), found in the manner of SliceLine (Sagadeeva and Boehm, 2021). Unlike a k-means cluster, a slice is described by its facts and holds every text that has them.';
comment on column slices.model is 'The model (models.model).';
comment on column slices.slice is 'Rank among the model''s slices, from 1 (the most excess errors).';
comment on column slices.level is 'Facts in the conjunction.';
comment on column slices.predicates is 'The facts, machine-readable: "feature in [low, high)", "feature = value", "negations > 0", "word:w".';
comment on column slices.description is 'The facts in words, joined by "and".';
comment on column slices.size is 'Test texts in the slice (slice_texts).';
comment on column slices.errors is 'Of them, those the model gets wrong.';
comment on column slices.error_rate is 'errors / size.';
comment on column slices.ci_low is 'Lower end of the error rate''s 95% Wilson interval.';
comment on column slices.ci_high is 'Upper end of that interval.';
comment on column slices.mean_loss is 'The model''s mean loss on the slice.';
comment on column slices.score is 'Errors beyond what the model''s overall error rate predicts: size times (error_rate - model_error_rate). Slices rank by it.';
comment on column slices.model_error_rate is 'The model''s error rate on the whole test split.';

create table slice_texts (
    model varchar not null,
    slice integer not null,
    text_id integer not null
);
comment on table slice_texts is 'The test texts of each slice.';
comment on column slice_texts.model is 'The model (slices.model).';
comment on column slice_texts.slice is 'The slice (slices.slice).';
comment on column slice_texts.text_id is 'The text (texts.text_id).';

create table feature_correlations (
    model varchar not null references models (model),
    subset varchar not null check (subset in ('train', 'validation', 'test', 'all')),
    feature varchar not null,
    spearman double not null check (spearman between -1 and 1),
    ci_low double not null,
    ci_high double not null,
    texts integer not null,
    primary key (model, subset, feature)
);
comment on table feature_correlations is 'Rank correlation of each metadata feature with each neural model''s loss, with a 95% bootstrap interval.';
comment on column feature_correlations.model is 'The model (models.model).';
comment on column feature_correlations.subset is 'Texts it is measured on: train, validation, test or all.';
comment on column feature_correlations.feature is 'Feature name, as in the text_features view.';
comment on column feature_correlations.spearman is 'Spearman''s rank correlation between the feature and the loss.';
comment on column feature_correlations.ci_low is 'Lower end of its 95% bootstrap interval.';
comment on column feature_correlations.ci_high is 'Upper end of its 95% bootstrap interval.';
comment on column feature_correlations.texts is 'Texts it is measured on.';

create table features (
    feature varchar primary key,
    title varchar not null,
    sql varchar not null,
    kind varchar not null check (kind in ('numeric', 'category')),
    source varchar not null check (source in ('text', 'model', 'data')),
    "default" boolean not null,
    rank integer not null unique
);
comment on table features is 'The metadata features the dashboard, the insights and the correlations use (pipeline/whole_set/features.py), the data''s own columns included.';
comment on column features.feature is 'Name, as in text_features, text_categories and feature_correlations.';
comment on column features.title is 'As the pages name it.';
comment on column features.sql is 'Its value, as SQL over the tables texts and predictions.';
comment on column features.kind is 'numeric, or category (a text or true/false column of the data with at most 50 values).';
comment on column features.source is 'text (measured on the text), model (the model''s own, such as confidence) or data (a column of the data file).';
comment on column features."default" is 'Shown on the dashboard before the user picks.';
comment on column features.rank is 'Order on the pages: the built-in features, then the data''s columns.';

create table seed_findings (
    finding integer primary key,
    statement varchar not null,
    feature varchar not null references features (feature),
    expected_sign integer not null check (expected_sign in (-1, 1))
);
comment on table seed_findings is 'IMDB only (empty for other data): the Tensorleap study''s five findings about metadata and loss.';
comment on column seed_findings.finding is 'Number of the finding, from 1.';
comment on column seed_findings.statement is 'The finding in the study''s words.';
comment on column seed_findings.feature is 'The feature it is about (features.feature).';
comment on column seed_findings.expected_sign is 'The sign of its rank correlation with the loss that the finding claims.';

create table calibration (
    model varchar not null references models (model),
    subset varchar not null check (subset in ('train', 'validation', 'test', 'all')),
    scaled boolean not null,
    class varchar,
    texts integer not null check (texts > 0),
    ece double not null check (ece between 0 and 1),
    ece_low double not null,
    ece_high double not null,
    mce double not null check (mce between 0 and 1),
    brier double not null check (brier >= 0),
    log_loss double not null check (log_loss >= 0)
);
comment on table calibration is 'How far each model''s confidence can be trusted, on each subset, before and after temperature scaling: top-label (class null) and per class (up to 10 classes).';
comment on column calibration.model is 'The model (models.model).';
comment on column calibration.subset is 'Texts it is measured on: train, validation (where the temperature is fitted), test or all.';
comment on column calibration.scaled is 'False: the model''s own probabilities; true: after temperature scaling (predictions.calibrated).';
comment on column calibration.class is 'Null: top-label (the predicted class''s probability against being right); a class: its probability against the text having it.';
comment on column calibration.texts is 'Texts it is measured on.';
comment on column calibration.ece is 'Expected calibration error: the gap between accuracy and mean confidence in each confidence bin (reliability_bins), weighted by the bin''s texts. 0 is perfect.';
comment on column calibration.ece_low is 'Lower end of the ECE''s 95% bootstrap interval (texts resampled).';
comment on column calibration.ece_high is 'Upper end of that interval.';
comment on column calibration.mce is 'Maximum calibration error: the largest gap of any bin.';
comment on column calibration.brier is 'Brier score: mean squared distance between the probabilities and the one-hot label (summed over classes for top-label).';
comment on column calibration.log_loss is 'Mean cross-entropy (top-label: of the true class; per class: one against the rest).';

create table reliability_bins (
    model varchar not null references models (model),
    subset varchar not null check (subset in ('train', 'validation', 'test', 'all')),
    scaled boolean not null,
    class varchar,
    bin smallint not null check (bin >= 0),
    lower double not null check (lower between 0 and 1),
    upper double not null check (upper between 0 and 1),
    texts integer not null check (texts > 0),
    confidence double not null check (confidence between 0 and 1),
    accuracy double not null check (accuracy between 0 and 1)
);
comment on table reliability_bins is 'The reliability diagrams: each non-empty confidence bin of each row of calibration.';
comment on column reliability_bins.model is 'The model (models.model).';
comment on column reliability_bins.subset is 'As calibration.subset.';
comment on column reliability_bins.scaled is 'As calibration.scaled.';
comment on column reliability_bins.class is 'As calibration.class.';
comment on column reliability_bins.bin is 'Bin number, from 0 (equal-width bins over 0 to 1).';
comment on column reliability_bins.lower is 'Lower edge of the bin''s confidence.';
comment on column reliability_bins.upper is 'Upper edge.';
comment on column reliability_bins.texts is 'Texts whose confidence falls in the bin.';
comment on column reliability_bins.confidence is 'Their mean confidence.';
comment on column reliability_bins.accuracy is 'Share of them that are right (per class: that have the class). Calibrated: equal to confidence.';

create table behaviour_tests (
    test varchar primary key,
    kind varchar not null check (kind in ('invariance', 'direction', 'template')),
    description varchar not null,
    source varchar not null,
    applicable boolean not null,
    reason varchar,
    cases integer not null check (cases >= 0),
    skipped integer not null check (skipped >= 0),
    rank integer not null unique
);
comment on table behaviour_tests is 'The behavioural tests run on the models, in the manner of CheckList (Ribeiro et al., 2020): the built-in ones that fit the label set and the user''s own.';
comment on column behaviour_tests.test is 'Name of the test.';
comment on column behaviour_tests.kind is 'invariance (the predicted class should not change), direction (a class''s probability should not move the wrong way) or template (short made-up texts with a known label).';
comment on column behaviour_tests.description is 'What the test changes or writes, in one line.';
comment on column behaviour_tests.source is 'built-in, or the name of the user''s test file (the behaviour tests setting).';
comment on column behaviour_tests.applicable is 'False when the test does not fit this label set: not run, not failed.';
comment on column behaviour_tests.reason is 'Why it does not apply; null when it does.';
comment on column behaviour_tests.cases is 'Cases made (behaviour_cases).';
comment on column behaviour_tests.skipped is 'Sampled texts the test could not change (no name, no number...): counted, not stored as cases.';
comment on column behaviour_tests.rank is 'Order on the pages.';

create table behaviour_cases (
    case_id integer primary key,
    test varchar not null references behaviour_tests (test),
    text_id integer,
    -- zstd, as texts.text: the changed texts are nearly as long as the texts.
    before varchar using compression zstd,
    after varchar not null using compression zstd,
    label varchar,
    expect varchar not null check (expect in ('same', 'up', 'down', 'label'))
);
comment on table behaviour_cases is 'Each behavioural test case: a text of the test split and the same text changed, or a made-up text (template tests).';
comment on column behaviour_cases.case_id is 'Case number, from 1.';
comment on column behaviour_cases.test is 'The test (behaviour_tests.test).';
comment on column behaviour_cases.text_id is 'The text that was changed (texts.text_id); null for template cases.';
comment on column behaviour_cases.before is 'The text before the change (null for template cases).';
comment on column behaviour_cases.after is 'The text the models read for the case.';
comment on column behaviour_cases.label is 'template: the label the text should get; direction: the class whose probability is watched; null for invariance.';
comment on column behaviour_cases.expect is 'same (the predicted class should not change), up or down (the class''s probability should not move the other way by more than the tolerance), label (the text should get label).';

create table behaviour_results (
    case_id integer not null,
    model varchar not null references models (model),
    probabilities_before float[],
    probabilities_after float[] not null,
    failed boolean not null,
    primary key (case_id, model)
);
comment on table behaviour_results is 'Every model''s probabilities on every behavioural test case, and whether it failed the case.';
comment on column behaviour_results.case_id is 'The case (behaviour_cases.case_id).';
comment on column behaviour_results.model is 'The model (models.model).';
comment on column behaviour_results.probabilities_before is 'Its probabilities on the text before the change, in labels.label_index order (as in predictions); null for template cases.';
comment on column behaviour_results.probabilities_after is 'Its probabilities on the text the case reads.';
comment on column behaviour_results.failed is 'True when the model fails the case (see behaviour_cases.expect).';

create table training_dynamics (
    model varchar not null references models (model),
    text_id integer not null,
    epoch smallint not null check (epoch > 0),
    probability float not null check (probability between 0 and 1),
    margin float not null,
    correct boolean not null,
    primary key (model, text_id, epoch)
);
comment on table training_dynamics is 'What each model trained here (or brought with a dynamics file) gave each training and validation text after every epoch: from the forward pass of the batch that held a training text, from the evaluation at the end of the epoch for a validation text. Past [dynamics] sample texts, a seeded sample of them.';
comment on column training_dynamics.model is 'The model (models.model).';
comment on column training_dynamics.text_id is 'The text (texts.text_id).';
comment on column training_dynamics.epoch is 'Epoch, from 1.';
comment on column training_dynamics.probability is 'Probability of the given label.';
comment on column training_dynamics.margin is 'Logit margin: log-probability of the given label minus that of the likeliest other class (negative: another class wins).';
comment on column training_dynamics.correct is 'True when the likeliest class is the given label.';

create table data_maps (
    model varchar not null references models (model),
    text_id integer not null,
    confidence float not null check (confidence between 0 and 1),
    variability float not null check (variability >= 0),
    correctness float not null check (correctness between 0 and 1),
    forgetting smallint not null check (forgetting >= 0),
    aum float not null,
    region varchar not null check (region in ('easy to learn', 'ambiguous', 'hard to learn')),
    primary key (model, text_id)
);
comment on table data_maps is 'Each training and validation text''s place on a model''s data map (Swayamdipta et al., 2020), from its training_dynamics.';
comment on column data_maps.model is 'The model (models.model).';
comment on column data_maps.text_id is 'The text (texts.text_id).';
comment on column data_maps.confidence is 'Mean probability of the given label over the epochs.';
comment on column data_maps.variability is 'Standard deviation of the probability of the given label over the epochs.';
comment on column data_maps.correctness is 'Share of the epochs at which the model was right.';
comment on column data_maps.forgetting is 'Forgetting events (Toneva et al., 2019): epochs at which the model was wrong after being right at the one before.';
comment on column data_maps.aum is 'Area under the margin (Pleiss et al., 2020): the mean of training_dynamics.margin; low or negative in mislabelled texts.';
comment on column data_maps.region is 'ambiguous (the [dynamics] ambiguous_share of the model''s texts with the highest variability), else hard to learn (among the hard_share with the lowest confidence), else easy to learn.';

create table label_quality (
    text_id integer primary key,
    label_quality float not null check (label_quality between 0 and 1),
    likely_label varchar not null,
    flagged boolean not null,
    out_of_sample float check (out_of_sample between 0 and 1),
    naive_bayes float check (naive_bayes between 0 and 1),
    early_learning float check (early_learning between 0 and 1),
    evidence varchar not null check (evidence in ('training', 'final models'))
);
comment on table label_quality is 'How likely each text''s label is to be right. Training and validation texts: from evidence no model memorised (the baseline and complement naive Bayes cross-validated, and the models'' probabilities over their epochs of early learning, weighted by [dynamics] baseline_weight, naive_bayes_weight and dynamics_weight); test texts: from the final models.';
comment on column label_quality.text_id is 'The text (texts.text_id).';
comment on column label_quality.label_quality is 'Probability of the given label from that evidence, 0 (likely wrong) to 1; sort by it, lowest first, to review labels.';
comment on column label_quality.likely_label is 'The likeliest other class: what the label may have been meant to be.';
comment on column label_quality.flagged is 'Likely mislabelled: confident learning (Northcutt et al., 2021) on the same probabilities; these texts make the mislabelled finding.';
comment on column label_quality.out_of_sample is 'The baseline''s probability of the given label from a fit on the other folds ([dynamics] folds); null on the test split.';
comment on column label_quality.naive_bayes is 'Complement naive Bayes''s, on the baseline''s features, likewise.';
comment on column label_quality.early_learning is 'The models'' mean probability of the given label over their epochs of early learning (up to the lowest validation loss); null without training dynamics. label_quality is the weighted mean of the three (the weights of [dynamics]), over those present.';
comment on column label_quality.evidence is 'training (dynamics and cross-validation) or final models (test split).';

create view text_list as
select
    predictions.text_id,
    predictions.model,
    texts.split,
    texts.subset,
    texts.label,
    predictions.predicted_label,
    predictions.probabilities,
    predictions.confidence,
    predictions.loss,
    predictions.correct,
    texts.n_tokens,
    texts.n_oov,
    texts.snippet
from predictions
join texts using (text_id);
comment on view text_list is 'One row per text and model as the viewer lists them: label, prediction, loss and the start of the text.';

create view model_agreement as
with

compared as (
    select model, rank from models
    where compared
)

select
    first.text_id,
    first.model as first_model,
    second.model as second_model,
    first.correct as first_correct,
    second.correct as second_correct,
    first.loss as first_loss,
    second.loss as second_loss,
    case
        when first.correct and second.correct then 'both right'
        when first.correct then first.model || ' only'
        when second.correct then second.model || ' only'
        else 'neither'
    end as cohort
from predictions as first
join compared as first_compared on first_compared.model = first.model
join predictions as second on second.text_id = first.text_id
join compared as second_compared on second_compared.model = second.model and second_compared.rank > first_compared.rank;
comment on view model_agreement is 'Each text and each pair of compared models (models.compared; first_model before second_model in the models'' order): their verdicts and losses, and its cohort: both right, <first> only, <second> only or neither.';

create table model_metrics (
    model varchar not null,
    subset varchar not null,
    texts bigint not null,
    accuracy double not null,
    loss double,
    macro_f1 double not null,
    primary key (model, subset)
);
comment on table model_metrics is 'Accuracy, mean loss and macro-F1 (over the classes present) of every model on each subset (train, validation, test); computed once as the file is built (sql/derive/model_metrics.sql).';
comment on column model_metrics.model is 'The model (models.model).';
comment on column model_metrics.subset is 'The texts: train, validation or test (texts.subset).';
comment on column model_metrics.texts is 'How many texts of the subset.';
comment on column model_metrics.accuracy is 'Share of the texts the model predicts right.';
comment on column model_metrics.loss is 'Mean loss; null for a model that gives its predicted classes alone.';
comment on column model_metrics.macro_f1 is 'Mean F1 over the classes present in the subset.';

create view class_metrics as
select
    predictions.model,
    texts.subset,
    labels.label,
    labels.label_index,
    count(*) filter (where texts.label = labels.label) as support,
    count(*) filter (where texts.label = labels.label and predictions.correct)
        / nullif(count(*) filter (where predictions.predicted_label = labels.label), 0) as "precision",
    count(*) filter (where texts.label = labels.label and predictions.correct)
        / nullif(count(*) filter (where texts.label = labels.label), 0) as recall,
    2 * count(*) filter (where texts.label = labels.label and predictions.correct)
        / nullif(count(*) filter (where texts.label = labels.label) + count(*) filter (where predictions.predicted_label = labels.label), 0)
        as f1
from predictions
join texts using (text_id)
cross join labels
group by all;
comment on view class_metrics is 'Precision, recall and F1 of every model for each class on each subset; null where a class is never predicted or never present.';

-- Two builds compared (make all BASE=path/to/reviewlens.duckdb), or, without a base, each two of this build's
-- compared models: pipeline/whole_set/compare.py. "Before" is the base model's, "after" this build's model's.
create table comparison (
    within boolean not null,
    base_file varchar,
    base_sha256 varchar,
    base_built_at varchar,
    base_dataset_file varchar not null,
    base_dataset_sha256 varchar not null,
    matched_by varchar not null check (matched_by in ('id', 'text', 'the same texts')),
    matched integer not null check (matched >= 0),
    added integer not null check (added >= 0),
    removed integer not null check (removed >= 0),
    relabelled integer not null check (relabelled >= 0),
    changed integer not null check (changed >= 0),
    paired_texts integer not null check (paired_texts >= 0)
);
comment on table comparison is 'One row: what this build was compared with (a base file, or its own models within it) and how the texts matched.';
comment on column comparison.within is 'True: no base was given, and the pairs are this build''s own models; false: a base file (BASE=).';
comment on column comparison.base_file is 'The base file compared with; null within one build.';
comment on column comparison.base_sha256 is 'Its SHA-256 checksum; null within one build.';
comment on column comparison.base_built_at is 'When the base was built (its meta built_at); null within one build.';
comment on column comparison.base_dataset_file is 'The data file the base was built from.';
comment on column comparison.base_dataset_sha256 is 'Its checksum: when it differs from this build''s, the data changed (comparison_features).';
comment on column comparison.matched_by is 'id (the data''s id column, when both builds have one for every text), text (the text itself) or the same texts (within one build).';
comment on column comparison.matched is 'Texts found in both builds.';
comment on column comparison.added is 'Texts in this build only.';
comment on column comparison.removed is 'Texts in the base only.';
comment on column comparison.relabelled is 'Matched texts whose label differs (after the label_map setting): left out of the paired figures.';
comment on column comparison.changed is 'Texts matched by id whose text differs.';
comment on column comparison.paired_texts is 'The paired texts: matched, in the test split of both builds, with the same label. Every paired figure is measured on them.';

create table comparison_pairs (
    base_model varchar not null,
    model varchar not null references models (model),
    rank integer not null unique,
    paired_by varchar not null check (paired_by in ('name', 'settings', 'brought', 'this build')),
    texts integer not null check (texts > 0),
    broken integer not null check (broken >= 0),
    fixed integer not null check (fixed >= 0),
    negative_flip_rate double not null check (negative_flip_rate between 0 and 1),
    nfr_low double not null,
    nfr_high double not null,
    positive_flip_rate double not null check (positive_flip_rate between 0 and 1),
    pfr_low double not null,
    pfr_high double not null,
    mcnemar_p double not null check (mcnemar_p between 0 and 1),
    primary key (base_model, model)
);
comment on table comparison_pairs is 'Each pair of models compared: how many paired texts each direction flipped, and whether the two models'' error rates differ.';
comment on column comparison_pairs.base_model is 'The model before: the base''s (within one build: the first of the two).';
comment on column comparison_pairs.model is 'The model after: this build''s (models.model).';
comment on column comparison_pairs.rank is 'Order on the pages.';
comment on column comparison_pairs.paired_by is 'name (the same name in both builds), settings (the compare pairs setting), brought (the one model each build was given) or this build (two of its compared models).';
comment on column comparison_pairs.texts is 'Paired texts both models scored.';
comment on column comparison_pairs.broken is 'Texts right before and wrong after (flips, direction broken).';
comment on column comparison_pairs.fixed is 'Texts wrong before and right after.';
comment on column comparison_pairs.negative_flip_rate is 'broken / texts: the regressions an overall accuracy hides.';
comment on column comparison_pairs.nfr_low is 'Lower end of its 95% Wilson interval.';
comment on column comparison_pairs.nfr_high is 'Upper end.';
comment on column comparison_pairs.positive_flip_rate is 'fixed / texts.';
comment on column comparison_pairs.pfr_low is 'Lower end of its 95% Wilson interval.';
comment on column comparison_pairs.pfr_high is 'Upper end.';
comment on column comparison_pairs.mcnemar_p is 'McNemar''s exact test (two-sided) of broken against fixed: below 0.05, the two error rates differ beyond chance.';

create table comparison_metrics (
    base_model varchar not null,
    model varchar not null,
    metric varchar not null check (metric in ('accuracy', 'macro_f1', 'f1', 'loss', 'ece')),
    class varchar,
    texts integer not null check (texts > 0),
    before double,
    after double,
    difference double,
    ci_low double,
    ci_high double
);
comment on table comparison_metrics is 'Each pair''s figures on the paired texts before and after, overall (class null) and per class, each difference with a paired bootstrap 95% interval (the same texts resampled for both). Loss and ECE need probabilities from both models.';
comment on column comparison_metrics.base_model is 'The pair (comparison_pairs).';
comment on column comparison_metrics.model is 'The pair (comparison_pairs).';
comment on column comparison_metrics.metric is 'accuracy (per class: of the texts with the class, its recall), macro_f1 (overall only), f1 (per class), loss (mean cross-entropy), ece (expected calibration error, 15 bins; per class: the class''s probability against having it, up to 10 classes).';
comment on column comparison_metrics.class is 'Null: all paired texts; a class: per class as the metric says.';
comment on column comparison_metrics.texts is 'Paired texts of the pair.';
comment on column comparison_metrics.before is 'The base model''s figure.';
comment on column comparison_metrics.after is 'This model''s figure.';
comment on column comparison_metrics.difference is 'after - before.';
comment on column comparison_metrics.ci_low is 'Lower end of the difference''s 95% paired bootstrap interval (compare bootstrap_resamples).';
comment on column comparison_metrics.ci_high is 'Upper end. An interval that excludes 0 rules out noise.';

create table flips (
    base_model varchar not null,
    model varchar not null,
    rank integer not null check (rank > 0),
    text_id integer not null,
    base_text_id integer not null,
    direction varchar not null check (direction in ('fixed', 'broken')),
    label varchar not null,
    predicted_before varchar not null,
    predicted_after varchar not null,
    loss_before float,
    loss_after float,
    primary key (base_model, model, text_id)
);
comment on table flips is 'The paired texts one model of a pair gets right and the other wrong: one row per text, pair and direction.';
comment on column flips.base_model is 'The pair (comparison_pairs).';
comment on column flips.model is 'The pair (comparison_pairs).';
comment on column flips.rank is 'Worst first within the pair: the broken texts by their loss after, then the fixed by their loss before.';
comment on column flips.text_id is 'The text in this build (texts.text_id).';
comment on column flips.base_text_id is 'The same text in the base (its texts.text_id; within one build, text_id).';
comment on column flips.direction is 'broken (right before, wrong after) or fixed (wrong before, right after).';
comment on column flips.label is 'Its label, in this build''s names.';
comment on column flips.predicted_before is 'The base model''s predicted class.';
comment on column flips.predicted_after is 'This model''s predicted class.';
comment on column flips.loss_before is 'The base model''s loss; null without probabilities.';
comment on column flips.loss_after is 'This model''s loss; null without probabilities.';

create table comparison_slices (
    base_model varchar not null,
    model varchar not null,
    slice integer not null check (slice > 0),
    level integer not null check (level between 1 and 3),
    predicates varchar[] not null,
    description varchar not null,
    size integer not null check (size > 0),
    broken integer not null check (broken > 0),
    broken_rate double not null check (broken_rate between 0 and 1),
    ci_low double not null,
    ci_high double not null,
    score double not null check (score > 0),
    overall_rate double not null check (overall_rate between 0 and 1),
    primary key (base_model, model, slice)
);
comment on table comparison_slices is 'Where a change regressed: the slice search (as for slices) run on the broken texts against the other paired texts the base model got right, over the same facts.';
comment on column comparison_slices.base_model is 'The model before (comparison_pairs.base_model).';
comment on column comparison_slices.model is 'The model after (comparison_pairs.model).';
comment on column comparison_slices.slice is 'Rank among the pair''s slices, from 1 (the most excess broken texts).';
comment on column comparison_slices.level is 'Facts in the conjunction.';
comment on column comparison_slices.predicates is 'The facts, machine-readable, as slices.predicates.';
comment on column comparison_slices.description is 'The facts in words.';
comment on column comparison_slices.size is 'Paired texts in the slice that the base model got right.';
comment on column comparison_slices.broken is 'Of them, those broken.';
comment on column comparison_slices.broken_rate is 'broken / size.';
comment on column comparison_slices.ci_low is 'Lower end of its 95% Wilson interval.';
comment on column comparison_slices.ci_high is 'Upper end.';
comment on column comparison_slices.score is 'Broken texts beyond what the overall rate predicts: size times (broken_rate - overall_rate).';
comment on column comparison_slices.overall_rate is 'Share of the texts right before that broke.';

create table comparison_groups (
    base_model varchar not null,
    model varchar not null,
    rank integer not null check (rank > 0),
    kind varchar not null check (kind in ('cluster', 'category')),
    feature varchar,
    value varchar not null,
    texts integer not null check (texts >= 0),
    error_before double,
    error_after double,
    difference double,
    ci_low double,
    ci_high double,
    primary key (base_model, model, rank)
);
comment on table comparison_groups is 'The error rate of each cluster (of this model''s map) and each category value, before and after, on the paired texts; the groups that gained or lost the most errors first.';
comment on column comparison_groups.base_model is 'The model before (comparison_pairs.base_model).';
comment on column comparison_groups.model is 'The model after (comparison_pairs.model).';
comment on column comparison_groups.rank is 'By the errors the group gained or lost (texts times the change in its error rate), from 1.';
comment on column comparison_groups.kind is 'cluster (latent_space.cluster of the model after) or category (a category feature).';
comment on column comparison_groups.feature is 'The category feature (features.feature); null for a cluster.';
comment on column comparison_groups.value is 'The cluster number, or the category''s value.';
comment on column comparison_groups.texts is 'Paired texts in the group.';
comment on column comparison_groups.error_before is 'The base model''s error rate on them.';
comment on column comparison_groups.error_after is 'This model''s.';
comment on column comparison_groups.difference is 'error_after - error_before.';
comment on column comparison_groups.ci_low is 'Lower end of the difference''s 95% paired bootstrap interval.';
comment on column comparison_groups.ci_high is 'Upper end.';

create table comparison_behaviour (
    base_model varchar not null,
    model varchar not null,
    test varchar not null,
    cases_before integer,
    cases_after integer,
    failure_rate_before double,
    failure_rate_after double,
    difference double,
    ci_low double,
    ci_high double,
    primary key (base_model, model, test)
);
comment on table comparison_behaviour is 'Each behavioural test''s failure rate under both models of a pair, each on its own build''s cases; a test of one build only has nulls on the other side.';
comment on column comparison_behaviour.base_model is 'The model before (comparison_pairs.base_model).';
comment on column comparison_behaviour.model is 'The model after (comparison_pairs.model).';
comment on column comparison_behaviour.test is 'The test (behaviour_tests.test of either build).';
comment on column comparison_behaviour.cases_before is 'Cases the base model ran.';
comment on column comparison_behaviour.cases_after is 'Cases this model ran.';
comment on column comparison_behaviour.failure_rate_before is 'Share of them the base model failed.';
comment on column comparison_behaviour.failure_rate_after is 'Share this model failed.';
comment on column comparison_behaviour.difference is 'failure_rate_after - failure_rate_before.';
comment on column comparison_behaviour.ci_low is 'Lower end of the difference''s 95% interval (Newcombe''s, from the two Wilson intervals).';
comment on column comparison_behaviour.ci_high is 'Upper end.';

create table comparison_mislabelled (
    text_id integer not null,
    base_text_id integer not null,
    status varchar not null check (status in ('appeared', 'went away'))
);
comment on table comparison_mislabelled is 'Across builds: texts of both found likely mislabelled (insights, kind mislabelled) in one build and not in the other.';
comment on column comparison_mislabelled.text_id is 'The text in this build.';
comment on column comparison_mislabelled.base_text_id is 'The same text in the base.';
comment on column comparison_mislabelled.status is 'appeared (flagged now, not before) or went away (flagged before, not now).';

create table comparison_features (
    feature varchar not null,
    title varchar not null,
    kind varchar not null check (kind in ('numeric', 'category')),
    test varchar not null,
    statistic double not null,
    p_value double not null check (p_value between 0 and 1),
    effect varchar not null,
    effect_size double not null,
    before double,
    after double,
    rank integer not null
);
comment on table comparison_features is 'When the data changed (another dataset checksum): how each feature of the texts moved, all splits, the largest effects first. Empty when both builds read the same file.';
comment on column comparison_features.feature is 'The feature (features.feature).';
comment on column comparison_features.title is 'As the pages name it.';
comment on column comparison_features.kind is 'numeric or category.';
comment on column comparison_features.test is 'Kolmogorov-Smirnov (two-sample, numeric) or chi-square (counts of each value, category).';
comment on column comparison_features.statistic is 'The test''s statistic: the largest gap between the two distribution functions, or chi-square.';
comment on column comparison_features.p_value is 'Its p-value; with many texts even a tiny shift is significant, so read the effect size.';
comment on column comparison_features.effect is 'Cohen''s d (the mean''s shift in pooled standard deviations) or Cramér''s V (0: same shares, 1: disjoint).';
comment on column comparison_features.effect_size is 'Its value.';
comment on column comparison_features.before is 'Numeric: the mean in the base''s data.';
comment on column comparison_features.after is 'Numeric: the mean in this build''s data.';
comment on column comparison_features.rank is 'By the effect''s size, from 1.';

create table comparison_heatmaps (
    text_id integer not null,
    base_model varchar not null,
    label varchar not null,
    position integer not null check (position > 0),
    token varchar not null,
    seen boolean not null,
    score float,
    relative float
);
comment on table comparison_heatmaps is 'Across builds: the base model''s heat map of the worst flipped texts (compare heatmaps setting), every token and class, as text_heatmap gives this build''s: so the file shows both sides without the base.';
comment on column comparison_heatmaps.text_id is 'The text in this build (flips.text_id).';
comment on column comparison_heatmaps.base_model is 'The base''s model.';
comment on column comparison_heatmaps.label is 'The class, in this build''s names.';
comment on column comparison_heatmaps.position is 'The token''s place in the base''s tokens of the text, from 1.';
comment on column comparison_heatmaps.token is 'The token.';
comment on column comparison_heatmaps.seen is 'False for a token past the base model''s sequence length.';
comment on column comparison_heatmaps.score is 'The base model''s attribution toward the class.';
comment on column comparison_heatmaps.relative is 'The score over the strongest in the text (1 = strongest, negative = away from the class).';
