-- Every token of one text ($text_id) with each model's attribution toward one class ($label), scaled to that
-- model's strongest token in the text (1 = strongest, negative = away from the class). Tokens past the models'
-- sequence length have no score: the models never saw them.
with

tokens as (
    select
        position,
        text_tokens[position] as token
    from (select tokens(text) as text_tokens from texts where text_id = $text_id),
        range(1, len(text_tokens) + 1) as positions (position)
),

models as (
    select model, rank from models
    where no_attributions is null
),

attributions as (
    select
        *,
        max(abs(score)) over (partition by model) as strongest
    from token_attributions
    where text_id = $text_id
        and label = $label
),

final as (
    select
        models.model,
        models.rank,
        tokens.position,
        tokens.token,
        attributions.position is not null as seen,
        attributions.score,
        attributions.score / nullif(attributions.strongest, 0) as relative
    from tokens
    cross join models
    left join attributions
        on attributions.model = models.model
        and attributions.position = tokens.position
)

select * from final
order by rank, position
