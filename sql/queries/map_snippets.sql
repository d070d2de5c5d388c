-- The start of each text, for the map's hover details: of every text ($review_ids null), or of these.
select
    review_id,
    left(snippet, 70) as snippet
from reviews
where $review_ids is null
    or review_id in (select unnest($review_ids))
order by review_id
