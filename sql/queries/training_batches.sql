-- Loss and accuracy after every training batch of each Keras model.
with

final as (
    select
        model,
        step,
        epoch,
        batch,
        loss,
        accuracy
    from training_batches
)

select * from final
order by model, step
