-- The start of every text, for the map's hover details.
select
    review_id,
    snippet(text, 70) as snippet
from reviews
order by review_id
