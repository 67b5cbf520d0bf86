package surveys

import (
	"strings"
)

// The placeholders a wording may use. They are filled from the job in the
// language being spoken: {date} is "March 14" or "3月14日" in the customer's
// time zone, {product} and {part} are plain names, {service} is
// "install"/"repair" or "安装"/"维修". {part} exists only in a per-part
// question. Write {{ and }} for literal braces.
var placeholders = map[string]bool{
	"brand": true, "product": true, "model": true, "date": true, "service": true, "part": true,
}

// fillings are the values placeholders take for one job, language and part.
type fillings struct {
	brand, product, model, date, service, part string
}

func fillingsFor(job *Job, lang string, part *Part) fillings {
	f := fillings{
		brand:   job.Brand,
		product: job.ProductName(lang),
		model:   job.Model,
		date:    job.DateSpoken(lang),
		service: job.ServiceName(lang),
	}
	if part != nil {
		f.part = part.Name(lang)
	}
	return f
}

func (f *fillings) get(name string) string {
	switch name {
	case "brand":
		return f.brand
	case "product":
		return f.product
	case "model":
		return f.model
	case "date":
		return f.date
	case "service":
		return f.service
	case "part":
		return f.part
	}
	return ""
}

// render fills the placeholders of s. Definitions are validated, so every
// placeholder is known; an unknown one would be left as written.
func render(s string, f *fillings) string {
	if strings.IndexByte(s, '{') < 0 && strings.IndexByte(s, '}') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 32)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case (c == '{' || c == '}') && i+1 < len(s) && s[i+1] == c:
			b.WriteByte(c)
			i += 2
		case c == '{':
			j := strings.IndexByte(s[i+1:], '}')
			if j < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+1 : i+1+j]
			if placeholders[name] {
				b.WriteString(f.get(name))
			} else {
				b.WriteString(s[i : i+2+j])
			}
			i += j + 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// templateProblem is one problem in a wording's placeholders, at a byte
// offset of the wording.
type templateProblem struct {
	offset int
	needle string // what to look for in the file to place the error
	msg    string
}

// checkTemplate reports unknown placeholders, unclosed braces, and {part}
// where no part is in scope.
func checkTemplate(s string, partAllowed bool) []templateProblem {
	var out []templateProblem
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case (c == '{' || c == '}') && i+1 < len(s) && s[i+1] == c:
			i += 2
		case c == '{':
			j := strings.IndexAny(s[i+1:], "{}")
			if j < 0 || s[i+1+j] == '{' {
				out = append(out, templateProblem{i, "{", "unclosed { (write {{ for a literal brace)"})
				i++
				continue
			}
			name := s[i+1 : i+1+j]
			switch {
			case !placeholders[name]:
				out = append(out, templateProblem{i, s[i : i+2+j], "unknown placeholder {" + name + "}; known: {brand} {product} {model} {date} {service} {part}"})
			case name == "part" && !partAllowed:
				out = append(out, templateProblem{i, s[i : i+2+j], "{part} is only known in a per-part question (each_part: true)"})
			}
			i += j + 2
		default:
			i++
		}
	}
	return out
}

// budgetFillings are the longest values the validator assumes when it checks
// that an SMS fits one segment. A job whose values are longer still gets its
// message; Step.SMS reports the real size.
func budgetFillings(lang string) fillings {
	if isChinese(lang) {
		return fillings{
			brand: strings.Repeat("牌", 6), product: strings.Repeat("品", 6), model: strings.Repeat("M", 12),
			date: "12月31日", service: "安装", part: strings.Repeat("件", 8),
		}
	}
	return fillings{
		brand: strings.Repeat("B", 12), product: strings.Repeat("p", 20), model: strings.Repeat("M", 12),
		date: "September 30", service: "install", part: strings.Repeat("q", 24),
	}
}
