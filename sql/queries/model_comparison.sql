-- Token by token, how two neural models' ($first, $second) attributions toward one class ($label) for one text
-- ($text_id) differ. Scores are relative to each model's strongest token in the text, so the two scales
-- compare.
with

attributions as (
    select
        *,
        score / nullif(max(abs(score)) over (partition by model), 0) as relative
    from token_attributions
    where text_id = $text_id
        and label = $label
),

first as (
    select * from attributions
    where model = $first
),

second as (
    select * from attributions
    where model = $second
),

final as (
    select
        first.position,
        first.token,
        first.relative as first,
        second.relative as second,
        second.relative - first.relative as change,
        sign(first.relative) != sign(second.relative)
            and greatest(abs(first.relative), abs(second.relative)) >= $notable as flipped
    from first
    join second using (position)
)

select * from final
order by abs(change) desc, position
