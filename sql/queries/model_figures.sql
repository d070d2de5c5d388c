-- Each model's accuracy, macro-F1 and loss on the test split and the validation hold-out, beside the seed
-- study's figures (IMDB only), in the models' order; where it comes from, and what it has.
with

models as (
    select * from models
),

kinds as (
    select * from model_kinds
),

metrics as (
    select * from model_metrics
),

final as (
    select
        models.model,
        models.kind,
        kinds.title as source,
        kinds.given_with,
        kinds.address,
        models.architecture,
        models.description,
        models.file,
        models.sha256,
        models.compared,
        models.mapped,
        models.attributed,
        models.tested,
        models.has_probabilities,
        models.no_attributions,
        models.attributed_texts,
        models.heat_maps,
        models.calls_per_text,
        models.off_label,
        models.no_behaviour,
        models.no_probabilities,
        models.latent_dim,
        models.epochs,
        test.accuracy as test_accuracy,
        test.macro_f1 as test_macro_f1,
        test.loss as test_loss,
        models.seed_accuracy,
        models.seed_loss,
        validation.accuracy as validation_accuracy,
        validation.loss as validation_loss,
        models.rank
    from models
    join kinds using (kind)
    left join metrics as test
        on test.model = models.model and test.subset = 'test'
    left join metrics as validation
        on validation.model = models.model and validation.subset = 'validation'
)

select * from final
order by rank
