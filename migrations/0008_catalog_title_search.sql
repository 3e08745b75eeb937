-- Catalog search ranks by what a resource is called: its name (weight A) and its keywords, theme
-- and code (B). That title vector is kept apart from the full search vector (which adds fields
-- and summary) so that ranking never reads and decompresses the large one, and its own GIN index
-- finds title matches first. Matches found only in fields or summary follow, newest first, along
-- the created_at index.
ALTER TABLE resources ADD COLUMN title_vector tsvector;
-- Rows written before this migration: their whole search vector stands in until their next change.
UPDATE resources SET title_vector = search_vector;
ALTER TABLE resources ALTER COLUMN title_vector SET NOT NULL;
CREATE INDEX resources_title_idx ON resources USING gin (title_vector);
CREATE INDEX resources_created_idx ON resources (created_at DESC, id);
