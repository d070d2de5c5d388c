-- An LLM classifier's answers that named no label, with the texts they answered.
with

answers as (
    select * from off_label_answers
),

texts as (
    select text_id, snippet from texts
),

final as (
    select
        answers.model,
        answers.text_id,
        answers.answer,
        texts.snippet
    from answers
    join texts using (text_id)
)

select * from final
order by model, text_id
