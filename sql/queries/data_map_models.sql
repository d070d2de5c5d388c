-- Every model but the baseline, whether it has training dynamics, and why not where it has none.
with

models as (
    select * from models
),

recorded as (
    select model, max(epoch) as epochs, count(distinct text_id) as texts
    from training_dynamics
    group by model
),

final as (
    select
        models.model,
        recorded.epochs,
        recorded.texts,
        model_kinds.no_dynamics,
        models.rank
    from models
    join model_kinds using (kind)
    left join recorded using (model)
    where models.kind <> 'baseline'
)

select * exclude (rank) from final
order by rank
