-- The reviewlens database: every table, every column documented.
-- Built by pipeline/build_db.py; opened read-only by the viewer and by anyone with DuckDB >= 1.0.
-- {{latent_dim}} is replaced at build time by the larger of the two models' latent sizes.
-- The large per-review tables declare no primary or foreign keys: DuckDB stores an index for each,
-- which cost about 40 MB here. The tests check their keys and references on every build instead.

create table meta (
    key varchar primary key,
    value varchar not null
);
comment on table meta is 'How this file was built: schema version, dataset checksum, settings, library versions, build time.';
comment on column meta.key is 'Name of the fact: schema_version, dataset_sha256, dataset_file, config, config_digest, versions, built_at.';
comment on column meta.value is 'The fact as text; config and versions are JSON.';

create table reviews (
    review_id integer primary key,
    split varchar not null check (split in ('train', 'test')),
    subset varchar not null check (subset in ('train', 'validation', 'test')),
    label varchar not null check (label in ('negative', 'positive')),
    rating tinyint not null check (rating between 1 and 10),
    file_id integer not null check (file_id >= 0),
    path varchar not null,
    -- zstd: review texts take a quarter of the space they take uncompressed.
    text varchar not null using compression zstd,
    n_chars integer not null check (n_chars >= 0),
    n_tokens integer not null check (n_tokens >= 0),
    n_oov integer not null check (n_oov between 0 and n_tokens),
    truncated boolean not null,
    polarity float not null check (polarity between -1 and 1),
    subjectivity float not null check (subjectivity between 0 and 1),
    n_negations integer not null check (n_negations >= 0),
    n_contrasts integer not null check (n_contrasts >= 0)
);
comment on table reviews is 'One row per labeled IMDB review, train and test splits.';
comment on column reviews.review_id is 'Stable id: train before test, negative before positive, then by file id.';
comment on column reviews.split is 'Official split of the dataset: train or test.';
comment on column reviews.subset is 'Role in training: train, validation (held out of the train split) or test.';
comment on column reviews.label is 'Ground truth: negative (rating <= 4) or positive (rating >= 7).';
comment on column reviews.rating is 'Star rating out of 10, from the file name.';
comment on column reviews.file_id is 'The number in the file name <file_id>_<rating>.txt, unique within a split and label.';
comment on column reviews.path is 'Path of the review inside the tarball.';
comment on column reviews.text is 'Raw review text, HTML residue included.';
comment on column reviews.n_chars is 'Length of the raw text in characters.';
comment on column reviews.n_tokens is 'Number of tokens after cleaning (the tokens() macro), before truncation.';
comment on column reviews.n_oov is 'Tokens outside the vocabulary (built on the train subset only).';
comment on column reviews.truncated is 'True when the review has more tokens than the models see.';
comment on column reviews.polarity is 'TextBlob polarity of the text, from -1 (negative) to 1 (positive).';
comment on column reviews.subjectivity is 'TextBlob subjectivity of the text, from 0 (objective) to 1 (subjective).';
comment on column reviews.n_negations is 'Negation tokens: not, no, never, dont, cant, without...';
comment on column reviews.n_contrasts is 'Contrast tokens: but, however, although, though, yet, despite...';

create table models (
    model varchar primary key,
    kind varchar not null check (kind in ('neural', 'baseline')),
    description varchar not null,
    parameters bigint not null check (parameters > 0),
    epochs integer check (epochs > 0),
    latent_dim integer check (latent_dim > 0),
    seed_accuracy double check (seed_accuracy between 0 and 1),
    seed_loss double check (seed_loss >= 0)
);
comment on table models is 'The models compared: the two Keras models and the TF-IDF baseline.';
comment on column models.model is 'Short name: dense, cnn or baseline.';
comment on column models.kind is 'neural (Keras) or baseline (scikit-learn).';
comment on column models.description is 'Architecture in one line.';
comment on column models.parameters is 'Number of trained parameters (coefficients for the baseline).';
comment on column models.epochs is 'Training epochs; null for the baseline.';
comment on column models.latent_dim is 'Size of the pooled representation before the classifier; null for the baseline.';
comment on column models.seed_accuracy is 'Test accuracy reported by the Tensorleap study this reproduces; null where it reports none.';
comment on column models.seed_loss is 'Test loss reported by the Tensorleap study; null where it reports none.';

create table predictions (
    review_id integer not null,
    model varchar not null,
    p_positive float not null check (p_positive between 0 and 1),
    predicted_label varchar not null check (predicted_label in ('negative', 'positive')),
    loss float not null check (loss >= 0),
    confidence float not null check (confidence between 0.5 and 1),
    correct boolean not null
);
comment on table predictions is 'One row per review and model.';
comment on column predictions.review_id is 'The review (reviews.review_id).';
comment on column predictions.model is 'The model (models.model).';
comment on column predictions.p_positive is 'Predicted probability that the review is positive.';
comment on column predictions.predicted_label is 'positive when p_positive >= 0.5, else negative.';
comment on column predictions.loss is 'Cross-entropy of the true label: -ln p(label), probabilities clipped at 1e-7.';
comment on column predictions.confidence is 'Probability of the predicted label, from 0.5 (unsure) to 1.';
comment on column predictions.correct is 'True when predicted_label equals the review''s label.';

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
    val_loss double not null check (val_loss >= 0),
    val_accuracy double not null check (val_accuracy between 0 and 1),
    primary key (model, epoch)
);
comment on table training_epochs is 'Loss and accuracy of each Keras model at the end of every epoch.';
comment on column training_epochs.model is 'The model (models.model).';
comment on column training_epochs.epoch is 'Epoch, from 1.';
comment on column training_epochs.loss is 'Mean training loss over the epoch.';
comment on column training_epochs.accuracy is 'Mean training accuracy over the epoch.';
comment on column training_epochs.val_loss is 'Loss on the validation hold-out after the epoch.';
comment on column training_epochs.val_accuracy is 'Accuracy on the validation hold-out after the epoch.';

create table latent_space (
    review_id integer not null,
    model varchar not null,
    latent float[{{latent_dim}}] not null,
    x float not null,
    y float not null,
    cluster smallint not null check (cluster >= 0)
);
comment on table latent_space is 'Where each neural model places each review: its latent vector, its point on the t-SNE map, its k-means cluster.';
comment on column latent_space.review_id is 'The review (reviews.review_id).';
comment on column latent_space.model is 'The model (models.model): dense or cnn.';
comment on column latent_space.latent is 'Pooled representation before the classifier, zero-padded to the larger model''s size (padding changes no distance).';
comment on column latent_space.x is 't-SNE map, first coordinate.';
comment on column latent_space.y is 't-SNE map, second coordinate.';
comment on column latent_space.cluster is 'k-means cluster of the latent vector, from 0.';

create table clusters (
    model varchar not null references models (model),
    cluster smallint not null check (cluster >= 0),
    reviews integer not null check (reviews > 0),
    share_positive double not null check (share_positive between 0 and 1),
    accuracy double not null check (accuracy between 0 and 1),
    mean_loss double not null check (mean_loss >= 0),
    mean_confidence double not null check (mean_confidence between 0.5 and 1),
    mean_tokens double not null,
    mean_oov double not null,
    mean_oov_rate double not null check (mean_oov_rate between 0 and 1),
    share_truncated double not null check (share_truncated between 0 and 1),
    primary key (model, cluster)
);
comment on table clusters is 'Each k-means cluster of each model, with its size, accuracy, loss and mean metadata over all reviews in it.';
comment on column clusters.model is 'The model (models.model).';
comment on column clusters.cluster is 'Cluster number (latent_space.cluster).';
comment on column clusters.reviews is 'Reviews in the cluster, both splits.';
comment on column clusters.share_positive is 'Share of its reviews labelled positive.';
comment on column clusters.accuracy is 'Share of its reviews the model gets right.';
comment on column clusters.mean_loss is 'Mean loss of the model on its reviews.';
comment on column clusters.mean_confidence is 'Mean confidence of the model on its reviews.';
comment on column clusters.mean_tokens is 'Mean review length in tokens.';
comment on column clusters.mean_oov is 'Mean count of out-of-vocabulary tokens.';
comment on column clusters.mean_oov_rate is 'Mean share of out-of-vocabulary tokens.';
comment on column clusters.share_truncated is 'Share of its reviews cut to the models'' sequence length.';

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
comment on table cluster_words is 'Words over-represented in each cluster against all other reviews, best first.';
comment on column cluster_words.model is 'The model (models.model).';
comment on column cluster_words.cluster is 'Cluster number (clusters.cluster).';
comment on column cluster_words.rank is 'Rank within the cluster, from 1.';
comment on column cluster_words.word is 'The word, as the models see it (cleaned, in the vocabulary).';
comment on column cluster_words.share_in_cluster is 'Share of the cluster''s reviews that contain the word.';
comment on column cluster_words.share_elsewhere is 'Share of the other reviews that contain the word.';
comment on column cluster_words.z_score is 'z-score of the log-odds ratio with an informative Dirichlet prior (Monroe et al., 2008); above 2 is notable.';

create table attributions (
    review_id integer not null,
    model varchar not null,
    scores tinyint[] not null,
    scale float not null check (scale > 0),
    margin_review float not null,
    margin_baseline float not null,
    score_sum float not null
);
comment on table attributions is 'Integrated gradients of each neural model for each review: how much each token the model saw pushes toward positive. Read it through the token_attributions view.';
comment on column attributions.review_id is 'The review (reviews.review_id).';
comment on column attributions.model is 'The model (models.model): dense or cnn.';
comment on column attributions.scores is 'One score per token the model saw, in units of scale (int8: score = value * scale); padding has none.';
comment on column attributions.scale is 'Size of one unit of scores: the review''s largest absolute score / 127.';
comment on column attributions.margin_review is 'Logit margin, positive minus negative, for the review.';
comment on column attributions.margin_baseline is 'Logit margin for the baseline: every token''s embedding set to zero.';
comment on column attributions.score_sum is 'Sum of the unrounded scores; completeness says it equals margin_review - margin_baseline.';

create view token_attributions as
select
    review_id,
    model,
    position,
    tokens[position] as token,
    scores[position] * scale as toward_positive,
    -scores[position] * scale as toward_negative
from (
    -- Unnesting in a subquery lets a filter on review_id reach the tables, so tokens() runs only on the
    -- reviews asked for.
    select
        attributions.review_id,
        attributions.model,
        attributions.scores,
        attributions.scale,
        tokens(reviews.text) as tokens,
        unnest(range(1, len(attributions.scores) + 1)) as position
    from attributions
    join reviews using (review_id)
);
comment on view token_attributions is 'One row per review, model and token the model saw: its integrated-gradients score toward the positive and toward the negative output (one is minus the other).';

create table insights (
    insight_id integer primary key,
    model varchar references models (model),
    kind varchar not null check (kind in ('cluster', 'range', 'mislabelled', 'duplicates')),
    title varchar not null,
    reviews integer not null check (reviews > 0),
    mean_loss double,
    loss_ratio double,
    importance double not null
);
comment on table insights is 'Findings about where the models fail, computed by the pipeline, most important first.';
comment on column insights.insight_id is 'Rank of the finding, from 1 (most important).';
comment on column insights.model is 'The model it is about; null for findings about the data (mislabelled, duplicates).';
comment on column insights.kind is 'cluster (a high-loss cluster), range (a high-loss range of one feature), mislabelled or duplicates.';
comment on column insights.title is 'The finding in one sentence, written from the numbers.';
comment on column insights.reviews is 'Reviews it is about (insight_reviews).';
comment on column insights.mean_loss is 'Their mean loss (test split for cluster and range; both neural models for mislabelled).';
comment on column insights.loss_ratio is 'Their mean loss over the model''s mean test loss.';
comment on column insights.importance is 'Share of the loss the finding accounts for beyond the mean (cluster, range), share of all loss (mislabelled), or share of reviews (duplicates).';

create table insight_reviews (
    insight_id integer not null,
    rank integer not null check (rank > 0),
    review_id integer not null
);
comment on table insight_reviews is 'The reviews each finding is about, worst or most telling first.';
comment on column insight_reviews.insight_id is 'The finding (insights.insight_id).';
comment on column insight_reviews.rank is 'Order within the finding, from 1.';
comment on column insight_reviews.review_id is 'The review (reviews.review_id).';

create table feature_correlations (
    model varchar not null references models (model),
    subset varchar not null check (subset in ('train', 'validation', 'test', 'all')),
    feature varchar not null,
    spearman double not null check (spearman between -1 and 1),
    ci_low double not null,
    ci_high double not null,
    reviews integer not null,
    primary key (model, subset, feature)
);
comment on table feature_correlations is 'Rank correlation of each metadata feature with each neural model''s loss, with a 95% bootstrap interval.';
comment on column feature_correlations.model is 'The model (models.model).';
comment on column feature_correlations.subset is 'Reviews it is measured on: train, validation, test or all.';
comment on column feature_correlations.feature is 'Feature name, as in the review_features view.';
comment on column feature_correlations.spearman is 'Spearman''s rank correlation between the feature and the loss.';
comment on column feature_correlations.ci_low is 'Lower end of its 95% bootstrap interval.';
comment on column feature_correlations.ci_high is 'Upper end of its 95% bootstrap interval.';
comment on column feature_correlations.reviews is 'Reviews it is measured on.';

create view review_features as
with wide as (
    select
        predictions.review_id,
        predictions.model,
        reviews.subset,
        predictions.loss,
        reviews.n_tokens::double as length_tokens,
        reviews.n_chars::double as length_chars,
        reviews.n_oov::double as oov_count,
        reviews.n_oov / greatest(reviews.n_tokens, 1) as oov_rate,
        reviews.polarity::double as polarity,
        abs(reviews.polarity)::double as polarity_strength,
        reviews.subjectivity::double as subjectivity,
        predictions.confidence::double as confidence,
        reviews.rating::double as rating,
        reviews.n_negations::double as negations,
        reviews.n_contrasts::double as contrasts
    from predictions
    join reviews using (review_id)
)
unpivot wide
on length_tokens, length_chars, oov_count, oov_rate, polarity, polarity_strength, subjectivity, confidence, rating,
    negations, contrasts
into name feature value value;
comment on view review_features is 'One row per review, model and metadata feature: the feature''s value and the model''s loss, for the dashboard.';

create view model_agreement as
with outcomes as (
    select
        review_id,
        bool_or(correct) filter (where model = 'dense') as dense_correct,
        bool_or(correct) filter (where model = 'cnn') as cnn_correct,
        max(loss) filter (where model = 'dense') as dense_loss,
        max(loss) filter (where model = 'cnn') as cnn_loss
    from predictions
    where model in ('dense', 'cnn')
    group by review_id
)
select
    *,
    case
        when dense_correct and cnn_correct then 'both right'
        when dense_correct then 'dense only'
        when cnn_correct then 'CNN only'
        else 'neither'
    end as cohort
from outcomes;
comment on view model_agreement is 'Each review with both neural models'' verdicts and losses, and its cohort: both right, dense only, CNN only or neither.';

create view model_metrics as
select
    predictions.model,
    reviews.subset,
    count(*) as reviews,
    avg(predictions.correct::integer) as accuracy,
    avg(predictions.loss) as loss
from predictions
join reviews using (review_id)
group by predictions.model, reviews.subset;
comment on view model_metrics is 'Accuracy and mean loss of every model on each subset (train, validation, test).';
