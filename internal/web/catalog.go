package web

import (
	"fmt"
	"io/fs"
	"maps"
	"path"
	"strings"
	"unicode/utf8"
)

// A catalog is one language's texts of a set of pages, kept as data beside
// their templates: a file named by the language's code (en.txt, nl.txt,
// de.txt, fr.txt) of lines
//
//	# a comment
//	login.title = Log in
//
// The text runs from the first "=" to the end of the line, trimmed, so it
// needs no quoting or escapes (every message is one line). Not JSON: the
// files are written by translators, who want comments, and a repeated id
// is refused here where encoding/json would keep the last one silently.
//
// Two kinds of id: a message of the templates (their t), and "code." and
// an error code, what a page says of the errors with that code
// (errorText). English has its own texts too: the domains' public messages
// are written for API clients ("Field \"phone\" must be … E.164"), a page
// speaks to people.
const codePrefix = "code."

// readCatalog parses the catalog file name of fsys.
func readCatalog(fsys fs.FS, name string) (map[string]string, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("web: catalog: %w", err)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("web: catalog %s is not UTF-8", name)
	}
	msgs := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, text, ok := strings.Cut(line, "=")
		id, text = strings.TrimSpace(id), strings.TrimSpace(text)
		if _, dup := msgs[id]; dup {
			return nil, fmt.Errorf("web: catalog %s:%d: %q again", name, i+1, id)
		}
		if !ok || !validID(id) || text == "" {
			return nil, fmt.Errorf("web: catalog %s:%d: want \"id = text\"", name, i+1)
		}
		msgs[id] = text
	}
	return msgs, nil
}

// validID reports whether id is a message id: lower-case letters, digits,
// "_" and ".".
func validID(id string) bool {
	return id != "" && strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789_.") == ""
}

// AddCatalogs adds the catalogs of fsys whose names match pattern
// (fs.Glob): each file is one language's texts, named by its code
// ("de.txt"). A page's id may be translated in some languages only; the
// others show its English text. An id another catalog of that language
// already has is refused, so that no surface redefines another's text.
func (k *Kit) AddCatalogs(fsys fs.FS, pattern string) error {
	if k.mounted {
		return errMounted
	}
	names, err := fs.Glob(fsys, pattern)
	if err != nil || len(names) == 0 {
		return fmt.Errorf("web: no catalog matches %q (%v)", pattern, err)
	}
	// Every file is read and checked before any text is added: a refused
	// registration leaves the kit as it was.
	adds := make(map[*locale]map[string]string, len(names))
	for _, name := range names {
		code := strings.TrimSuffix(path.Base(name), ".txt")
		l := k.locale(code)
		if l == nil || adds[l] != nil {
			return fmt.Errorf("web: catalog %s: %q is not a language of the pages, or a second catalog of it", name, code)
		}
		msgs, err := readCatalog(fsys, name)
		if err != nil {
			return err
		}
		for id := range msgs {
			if _, dup := l.messages[id]; dup {
				return fmt.Errorf("web: catalog %s: %q is another catalog's", name, id)
			}
		}
		adds[l] = msgs
	}
	for l, msgs := range adds {
		maps.Copy(l.messages, msgs)
	}
	return nil
}
