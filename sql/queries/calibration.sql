-- Each model's calibration on a subset, its own probabilities beside those after temperature scaling:
-- top-label when $label is null, else for that class.
with

calibration as (
    select * from calibration
    where subset = $subset and class is not distinct from $label
),

models as (
    select * from models
),

final as (
    select
        models.model,
        models.temperature,
        raw.ece,
        raw.ece_low,
        raw.ece_high,
        scaled.ece as scaled_ece,
        scaled.ece_low as scaled_ece_low,
        scaled.ece_high as scaled_ece_high,
        raw.mce,
        scaled.mce as scaled_mce,
        raw.brier,
        scaled.brier as scaled_brier,
        raw.log_loss,
        scaled.log_loss as scaled_log_loss,
        raw.texts,
        models.rank
    from models
    join calibration as raw
        on raw.model = models.model and not raw.scaled
    join calibration as scaled
        on scaled.model = models.model and scaled.scaled
)

select * from final
order by rank
