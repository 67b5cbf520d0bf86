package surveys

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// fold turns what a phone keyboard produces into one canonical spelling, so
// the matchers below need only one entry per word: full-width forms
// (１, Ｙ, ，, ？) become ASCII, circled digits (①) become digits, curly
// quotes become straight ones, every kind of space becomes one ASCII space,
// invisible characters disappear, and letters are lower-cased. It is cheap and
// allocation-light because every reply passes through it.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // collapse leading spaces and runs of spaces
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			continue
		case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
			r -= 0xFEE0
		case r == 0xFFE5: // full-width yen sign ￥
			r = '¥'
		case r == 0x3000: // ideographic space
			r = ' '
		case r == 0x3002 || r == 0xFF61: // 。and half-width ｡
			r = '.'
		case r == 0x3001: // 、
			r = ','
		case r >= 0x2460 && r <= 0x2468: // ①..⑨
			r = '1' + (r - 0x2460)
		case r >= 0x2776 && r <= 0x277E: // ❶..❾
			r = '1' + (r - 0x2776)
		case r == 0x2018 || r == 0x2019 || r == 0x00B4 || r == '`':
			r = '\''
		case r == 0x201C || r == 0x201D:
			r = '"'
		case r == 0x200B || r == 0x200C || r == 0x200D || r == 0xFEFF || r == 0x2060:
			continue // zero-width
		case unicode.IsSpace(r):
			r = ' '
		case unicode.IsControl(r):
			continue
		}
		if r == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), " ")
}

// isTrimmable reports whether r is punctuation people wrap around an answer
// without meaning anything by it: "1.", "【1】", "'yes'", "好的!!". Signs,
// currency symbols, '#' and '*' are kept because they can carry meaning.
func isTrimmable(r rune) bool {
	switch r {
	case ' ', '.', ',', ';', ':', '!', '?', '~', '\'', '"', '(', ')', '[', ']', '{', '}', '<', '>',
		'【', '】', '「', '」', '『', '』', '《', '》', '〈', '〉', '〔', '〕', '…', '·', '—', '_', '=', '^', '|':
		return true
	}
	return unicode.Is(unicode.So, r) || unicode.Is(unicode.Sk, r) // emoji and modifier symbols
}

// clean folds s and trims wrapping punctuation and emoji.
func clean(s string) string {
	return strings.TrimFunc(fold(s), isTrimmable)
}

// isWordRune reports whether r belongs inside an English word token.
func isWordRune(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '\'') ||
		r >= utf8.RuneSelf && unicode.IsLetter(r) && !isCJK(r)
}

// isCJK reports whether r is a Han character (or CJK punctuation-free letter
// run member). Chinese has no spaces, so matching inside it works by
// substring rather than by word.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r)
}

// isClauseBreak reports whether r ends a clause: "不是，是别人" has two.
func isClauseBreak(r rune) bool {
	switch r {
	case ',', '.', ';', '!', '?', ':', '\n':
		return true
	}
	return false
}

// truncateRunes returns at most n runes of s, for error details.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}

func firstRune(s string) (rune, int) { return utf8.DecodeRuneInString(s) }

func lastRune(s string) (rune, int) { return utf8.DecodeLastRuneInString(s) }
