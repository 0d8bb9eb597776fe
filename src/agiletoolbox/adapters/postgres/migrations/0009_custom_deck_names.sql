-- A custom deck carries no free-text name any more (it could hold a person's name or an
-- e-mail, which the app never keeps): every deck that is not a standard one is `custom`,
-- in rooms, saved defaults and the decks kept with finished rounds.

UPDATE rooms SET config = jsonb_set(config, '{deck,name}', '"custom"')
 WHERE config -> 'deck' ->> 'name' NOT IN
       ('fibonacci', 'modified-fibonacci', 'powers-of-two', 'linear', 't-shirt', 'custom');

UPDATE room_defaults SET config = jsonb_set(config, '{deck,name}', '"custom"')
 WHERE config -> 'deck' ->> 'name' NOT IN
       ('fibonacci', 'modified-fibonacci', 'powers-of-two', 'linear', 't-shirt', 'custom');

UPDATE rounds SET deck = jsonb_set(deck, '{name}', '"custom"')
 WHERE deck ->> 'name' NOT IN
       ('fibonacci', 'modified-fibonacci', 'powers-of-two', 'linear', 't-shirt', 'custom');
