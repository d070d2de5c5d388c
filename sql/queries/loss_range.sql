-- The smallest and largest loss over all models, for the loss filter.
with

final as (
    select
        min(loss) as loss_min,
        max(loss) as loss_max
    from predictions
)

select * from final
