-- Text functions shared by the pipeline and the database: the pipeline tokenizes every text with
-- these macros, and the database keeps them, so the tokens a heat map shows are the ones the models read.

-- Lowercase; HTML residue (<br />) and every run of characters other than letters and digits become one
-- space; apostrophes are dropped, so "don't" stays one word ("dont").
create macro clean_text(text) as trim(
    regexp_replace(
        regexp_replace(regexp_replace(lower(text), '<[^>]*>', ' ', 'g'), '[''’`]', '', 'g'),
        '[^\pL\pN]+', ' ', 'g'
    )
);

-- The text's tokens, in order.
create macro tokens(text) as
    case when clean_text(text) = '' then []::varchar[] else string_split(clean_text(text), ' ') end;

-- The start of a text for lists and tooltips, with its HTML line breaks turned into spaces.
create macro snippet(text, n) as left(replace(text, '<br />', ' '), n);
