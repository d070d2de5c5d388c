-- Reviews per true and predicted label for every model, on one subset ($subset).
with

predictions as (
    select * from predictions
),

reviews as (
    select * from reviews
),

final as (
    select
        predictions.model,
        reviews.label,
        predictions.predicted_label,
        count(*) as reviews
    from predictions
    join reviews using (review_id)
    where reviews.subset = $subset
    group by all
)

select * from final
order by model, label, predicted_label
