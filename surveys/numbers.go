package surveys

import (
	"strings"
	"unicode/utf8"
)

// number is one number found in a reply, kept as its digits so amounts never
// pass through a float: "1,200.50" is whole "1200", frac "50".
type number struct {
	whole string // decimal digits, at least one
	frac  string // digits after the decimal point, "" when none
	neg   bool   // a minus sign stood right before it
	start int    // byte offsets in the scanned text
	end   int
}

// value returns the whole part, or ok=false when it does not fit.
func (n number) value() (int64, bool) {
	var v int64
	for _, c := range n.whole {
		if v > (1<<62)/10 {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// isWhole reports whether the number has no fractional part ("5" or "5.0").
func (n number) isWhole() bool { return strings.Trim(n.frac, "0") == "" }

// findNumbers returns every number in s (already folded) in order: Arabic
// digits with optional thousands separators and decimals ("1,200.5"), Chinese
// numerals ("五十", "一百五", "三点五"), and English number words ("fifty",
// "one hundred and twenty").
func findNumbers(s string) []number {
	var out []number
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r >= '0' && r <= '9':
			n := scanArabic(s, i)
			out = append(out, n)
			i = n.end
		case cnDigit(r) >= 0 || cnUnit(r) > 0:
			if n, ok := scanChinese(s, i); ok {
				out = append(out, n)
				i = n.end
				continue
			}
			i += size
		case r >= 'a' && r <= 'z' && (i == 0 || !isWordRune(prevRune(s, i))):
			if n, ok := scanEnglish(s, i); ok {
				out = append(out, n)
				i = n.end
				continue
			}
			for i < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[i:])
				if !isWordRune(r2) {
					break
				}
				i += sz
			}
		default:
			i += size
		}
	}
	return out
}

func prevRune(s string, i int) rune {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r
}

func scanArabic(s string, i int) number {
	n := number{start: i}
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	whole := s[i:j]
	// Thousands separators: "1,200" but not "50,60" (two numbers).
	for j+4 <= len(s) && s[j] == ',' && isDigit(s[j+1]) && isDigit(s[j+2]) && isDigit(s[j+3]) &&
		(j+4 == len(s) || !isDigit(s[j+4])) {
		whole += s[j+1 : j+4]
		j += 4
	}
	if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
		k := j + 1
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		n.frac = s[j+1 : k]
		j = k
	}
	n.whole, n.end = whole, j
	// A minus sign counts only when it is not between two numbers ("50-60").
	k := i
	for k > 0 && s[k-1] == ' ' {
		k--
	}
	if k > 0 && s[k-1] == '-' {
		m := k - 1
		for m > 0 && s[m-1] == ' ' {
			m--
		}
		n.neg = m == 0 || !isDigit(s[m-1])
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func cnDigit(r rune) int {
	switch r {
	case '零', '〇':
		return 0
	case '一', '壹':
		return 1
	case '二', '两', '贰':
		return 2
	case '三', '叁':
		return 3
	case '四', '肆':
		return 4
	case '五', '伍':
		return 5
	case '六', '陆':
		return 6
	case '七', '柒':
		return 7
	case '八', '捌':
		return 8
	case '九', '玖':
		return 9
	}
	return -1
}

func cnUnit(r rune) int64 {
	switch r {
	case '十', '拾':
		return 10
	case '百', '佰':
		return 100
	case '千', '仟':
		return 1000
	case '万':
		return 10000
	}
	return 0
}

// cnCounters may follow a Chinese number and make it one: 五十元, 五分, 五星.
const cnCounters = "元块圆分星号日月毛角个次"

// scanChinese reads a run of Chinese numerals at s[i:]. A run counts as a
// number only where a number is plausible — alone, next to a counter (元,
// 分, 号…), or next to a non-Chinese character — so "一般" (average) and "一下"
// are words, not 1. "十分满意" ("very satisfied") is an adverb, not ten.
func scanChinese(s string, i int) (number, bool) {
	var run []rune
	j := i
	for j < len(s) {
		r, size := utf8.DecodeRuneInString(s[j:])
		if cnDigit(r) < 0 && cnUnit(r) == 0 {
			break
		}
		run = append(run, r)
		j += size
	}
	whole, ok := cnValue(run)
	if !ok {
		return number{}, false
	}
	n := number{whole: whole, start: i, end: j}
	// 三点五 → 3.5
	if r, size := utf8.DecodeRuneInString(s[j:]); r == '点' {
		k := j + size
		var frac strings.Builder
		for k < len(s) {
			r2, sz := utf8.DecodeRuneInString(s[k:])
			d := cnDigit(r2)
			if d < 0 {
				break
			}
			frac.WriteByte(byte('0' + d))
			k += sz
		}
		if frac.Len() > 0 {
			n.frac, n.end = frac.String(), k
		}
	}
	prev := rune(0)
	if i > 0 {
		prev = prevRune(s, i)
	}
	next, _ := utf8.DecodeRuneInString(s[n.end:])
	if n.end == len(s) {
		next = 0
	}
	if len(run) == 1 && run[0] == '十' && next == '分' {
		if after, _ := utf8.DecodeRuneInString(s[n.end+len("分"):]); isCJK(after) {
			return number{}, false
		}
	}
	nextOK := next == 0 || !isCJK(next) || strings.ContainsRune(cnCounters, next)
	prevOK := prev == 0 || !isCJK(prev) || prev == '是' || prev == '给' || prev == '打' || prev == '回' || prev == '付' || prev == '收' || prev == '了' || prev == '花' || prev == '共' || prev == '块' || prev == '元'
	return n, nextOK && prevOK
}

// cnValue converts a run of Chinese numerals to decimal digits: 五十 → 50,
// 一百五 → 150 (the colloquial "a hundred and fifty"), 两千零八 → 2008,
// 二零二五 → 2025 (digit by digit when there is no unit).
func cnValue(run []rune) (string, bool) {
	if len(run) == 0 || len(run) > 16 {
		return "", false
	}
	hasUnit := false
	for _, r := range run {
		if cnUnit(r) > 0 {
			hasUnit = true
		}
	}
	if !hasUnit {
		var b strings.Builder
		for _, r := range run {
			b.WriteByte(byte('0' + cnDigit(r)))
		}
		return b.String(), true
	}
	var total, section, num, lastUnit int64
	prevWasUnit := false
	for _, r := range run {
		if d := cnDigit(r); d >= 0 {
			num = int64(d)
			prevWasUnit = false
			continue
		}
		u := cnUnit(r)
		if u == 10000 {
			section += num
			if section == 0 {
				return "", false
			}
			total += section * u
			section, num, lastUnit = 0, 0, u
		} else {
			if num == 0 && u == 10 {
				num = 1 // 十五 = 15
			}
			section += num * u
			num, lastUnit = 0, u
		}
		prevWasUnit = true
	}
	if num != 0 {
		if !prevWasUnit && lastUnit >= 100 && run[len(run)-2] != '零' {
			section += num * lastUnit / 10 // 一百五 = 150
		} else {
			section += num
		}
	}
	total += section
	return itoa(total), true
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for v > 0 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return string(buf[i:])
}

var enSmall = map[string]int64{
	"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
	"nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
	"sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
	"forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}

// scanEnglish reads number words at s[i:]: "fifty", "one hundred and twenty",
// "a hundred", "twenty-five", "two thousand five hundred".
func scanEnglish(s string, i int) (number, bool) {
	var total, cur int64
	seen, article := false, false
	end := i
	for j := i; j < len(s); {
		k := j
		for k < len(s) && s[k] >= 'a' && s[k] <= 'z' {
			k++
		}
		if r, _ := utf8.DecodeRuneInString(s[k:]); k < len(s) && isWordRune(r) {
			break // part of a longer token such as "5th" or "don't"
		}
		w := s[j:k]
		if v, ok := enSmall[w]; ok {
			cur += v
			seen = true
			end = k
		} else if (w == "hundred" || w == "thousand") && (seen || article) {
			if cur == 0 {
				cur = 1
			}
			if w == "hundred" {
				cur *= 100
			} else {
				total += cur * 1000
				cur = 0
			}
			seen = true
			end = k
		} else if (w == "a" || w == "an") && !seen && !article {
			article = true
		} else if w != "and" || !seen {
			break
		}
		if k >= len(s) || (s[k] != ' ' && s[k] != '-') {
			break
		}
		j = k + 1
	}
	if !seen {
		return number{}, false
	}
	return number{whole: itoa(total + cur), start: i, end: end}, true
}

// digitsForNumbers rewrites every Chinese numeral and English number word in
// s as digits: "五十元" → "50元", "fifty dollars" → "50 dollars".
func digitsForNumbers(s string) string {
	nums := findNumbers(s)
	if len(nums) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, n := range nums {
		b.WriteString(s[last:n.start])
		b.WriteString(n.whole)
		if n.frac != "" {
			b.WriteString("." + n.frac)
		}
		last = n.end
	}
	b.WriteString(s[last:])
	return b.String()
}
