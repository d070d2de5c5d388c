-- One model's ($model) slices of the test split, best first: their facts, size, error rate with its 95%
-- interval, mean loss, and how many times the model's own error rate it is.
with

slices as (
    select * from slices
    where model = $model
),

final as (
    select
        slice,
        description,
        size,
        errors,
        error_rate,
        ci_low,
        ci_high,
        error_rate / nullif(model_error_rate, 0) as times_model,
        mean_loss,
        score,
        level
    from slices
)

select * from final
order by slice
