-- The words, bigrams and trigrams of one text ($text_id) with the largest summed attribution toward and away
-- from one class ($label), for each neural model: the $top strongest of each size and direction.
with

attributions as (
    select * from token_attributions
    where text_id = $text_id
        and label = $label
),

ngrams as (
    select
        attributions.model,
        sizes.n,
        attributions.position,
        string_agg(later.token, ' ' order by later.position) as ngram,
        sum(later.score) as score
    from attributions
    cross join (values (1), (2), (3)) as sizes (n)
    join attributions as later
        on later.model = attributions.model
        and later.position between attributions.position and attributions.position + sizes.n - 1
    group by attributions.model, sizes.n, attributions.position
    having count(*) = sizes.n
),

ranked as (
    select
        *,
        row_number() over (partition by model, n order by score desc, position) as rank_toward,
        row_number() over (partition by model, n order by score asc, position) as rank_away
    from ngrams
),

final as (
    select
        model,
        n,
        case when rank_toward <= $top then 'toward' else 'away' end as direction,
        ngram,
        position,
        score
    from ranked
    where rank_toward <= $top or rank_away <= $top
)

select * from final
order by model, n, direction desc, abs(score) desc
