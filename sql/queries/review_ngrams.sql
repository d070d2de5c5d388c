-- The words, bigrams and trigrams of one review ($review_id) with the largest summed attribution toward
-- positive and toward negative, for each neural model: the $top strongest of each kind and direction.
with

attributions as (
    select * from token_attributions
    where review_id = $review_id
),

ngrams as (
    select
        attributions.model,
        sizes.n,
        attributions.position,
        string_agg(later.token, ' ' order by later.position) as ngram,
        sum(later.toward_positive) as toward_positive
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
        row_number() over (partition by model, n order by toward_positive desc, position) as rank_positive,
        row_number() over (partition by model, n order by toward_positive asc, position) as rank_negative
    from ngrams
),

final as (
    select
        model,
        n,
        case when rank_positive <= $top then 'positive' else 'negative' end as direction,
        ngram,
        position,
        toward_positive
    from ranked
    where rank_positive <= $top or rank_negative <= $top
)

select * from final
order by model desc, n, direction desc, abs(toward_positive) desc
