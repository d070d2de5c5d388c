-- One text's curve over training ($text_id): each model's probability of the given label after every epoch.
with

training_dynamics as (
    select * from training_dynamics
    where text_id = $text_id
),

final as (
    select model, epoch, probability, margin, correct
    from training_dynamics
)

select * from final
order by model, epoch
