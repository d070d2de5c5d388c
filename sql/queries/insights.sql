-- Every finding the pipeline made, most important first.
with

final as (
    select
        insight_id,
        kind,
        model,
        title,
        texts,
        mean_loss,
        loss_ratio,
        importance
    from insights
)

select * from final
order by insight_id
