-- The start of each text, for the map's hover details: of every text ($text_ids null), or of these.
select
    text_id,
    left(snippet, 70) as snippet
from texts
where $text_ids is null
    or text_id in (select unnest($text_ids))
order by text_id
