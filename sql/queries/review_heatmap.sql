-- Every token of one text ($review_id) wrapped into lines of at most $width characters, with each model's
-- attribution toward one class ($label) scaled to that model's strongest token in the text (1 = strongest,
-- negative = away from the class). Tokens past the models' sequence length have no score: the models never
-- saw them.
with recursive

tokens as materialized (
    select
        review_id,
        position,
        review_tokens[position] as token
    from (select review_id, tokens(text) as review_tokens from reviews where review_id = $review_id),
        range(1, len(review_tokens) + 1) as positions (position)
),

laid_out as (
    -- Greedy word wrap: a token that would pass the line width starts the next line.
    select
        position,
        token,
        0 as line,
        0 as column_start,
        length(token) as column_end
    from tokens
    where position = 1

    union all

    select
        tokens.position,
        tokens.token,
        laid_out.line + wraps::integer as line,
        if(wraps, 0, laid_out.column_end + 1) as column_start,
        if(wraps, 0, laid_out.column_end + 1) + length(tokens.token) as column_end
    from laid_out
    join tokens
        on tokens.position = laid_out.position + 1,
        lateral (select laid_out.column_end + 1 + length(tokens.token) > $width as wraps)
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
    where review_id = $review_id
        and label = $label
),

final as (
    select
        models.model,
        models.rank,
        laid_out.position,
        laid_out.token,
        laid_out.line,
        laid_out.column_start,
        laid_out.column_end,
        attributions.position is not null as seen,
        attributions.score,
        attributions.score / nullif(attributions.strongest, 0) as relative
    from laid_out
    cross join models
    left join attributions
        on attributions.model = models.model
        and attributions.position = laid_out.position
)

select * from final
order by rank, position
