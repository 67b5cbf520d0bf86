package surveys

import (
	"encoding/json"
	"slices"

	"gopkg.in/yaml.v3"
)

// Channel is how a survey reaches the customer.
type Channel string

// The two channels: an IVR call (keys or speech) and a two-way SMS survey.
const (
	Voice Channel = "voice"
	SMS   Channel = "sms"
)

// QuestionType says what kind of answer a question takes, and so which kind
// of fact it records.
type QuestionType string

// The question types. The comment gives the fact kind each records.
const (
	TypeYesNo       QuestionType = "yes_no"        // bool; keys 1 yes, 2 no unless `keys` says otherwise
	TypeYesNoUnsure QuestionType = "yes_no_unsure" // tri; keys 1 yes, 2 no, 3 not sure
	TypeRating      QuestionType = "rating"        // int from min to max (1–5 by default)
	TypeNPS         QuestionType = "nps"           // int 0–10
	TypeChoice      QuestionType = "choice"        // string: the chosen option's value
	TypeAmount      QuestionType = "amount"        // money: digits then # on a call, "50元" or "$50.00" by SMS
	TypeDate        QuestionType = "date"          // date: 1 confirms the job's date, or the customer gives another
	TypeFreeText    QuestionType = "free_text"     // string: the SMS text; on a call, the recording's URL
)

var questionTypes = []QuestionType{TypeYesNo, TypeYesNoUnsure, TypeRating, TypeNPS, TypeChoice, TypeAmount, TypeDate, TypeFreeText}

// factKind is the kind of fact a question of type t records.
func (t QuestionType) factKind() Kind {
	switch t {
	case TypeYesNo:
		return KindBool
	case TypeYesNoUnsure:
		return KindTri
	case TypeRating, TypeNPS:
		return KindInt
	case TypeAmount:
		return KindMoney
	case TypeDate:
		return KindDate
	}
	return KindString
}

// Definition is one version of a survey: what it asks, in which languages and
// on which channels, and how answers become facts. Obtain one from
// ParseDefinition (or a Store, or Shipped); a Definition that exists has passed
// every validation rule and is never modified afterwards, so it is safe to
// share between goroutines.
type Definition struct {
	Name            string      `json:"name"`
	Title           string      `json:"title,omitempty"`
	Description     string      `json:"description,omitempty"`
	Kind            string      `json:"kind"` // the jobs it is meant for: install, repair or any
	Channels        []Channel   `json:"channels"`
	Languages       []Language  `json:"languages"`
	DefaultLanguage string      `json:"default_language"`
	Reprompts       Reprompts   `json:"reprompts"`
	TimeoutSeconds  int         `json:"timeout_seconds"`
	OptOutKey       string      `json:"opt_out_key"`
	Intro           Localized   `json:"intro,omitempty"`
	Messages        Messages    `json:"messages"`
	Closing         Localized   `json:"closing"`
	Questions       []*Question `json:"questions"`

	// Set by Store when the definition was published or loaded; zero for a
	// definition read from a file. Engine states and answers record Version.
	Version   int    `json:"-"`
	VersionID int64  `json:"-"`
	SHA256    string `json:"-"` // of the canonical JSON form: same content, same hash
	Source    []byte `json:"-"` // the YAML as written
	File      string `json:"-"`

	byID map[string]*Question
}

// Language is how one language is spoken on a call: the text-to-speech voice
// and language for <Say>, and the speech-recognition language for <Gather>
// (empty: that language answers by keys only).
type Language struct {
	Code           string `json:"code"`
	Voice          string `json:"voice"`
	TTSLanguage    string `json:"tts_language"`
	SpeechLanguage string `json:"speech_language,omitempty"`
}

// Reprompts is how many times a question is asked again after no input or an
// invalid input before it is skipped. On a call the first re-ask repeats the
// prompt after "Sorry…", the second gives the full instructions; by SMS the
// re-ask is the clarification (the instructions) or, after silence, the
// reminder.
type Reprompts struct {
	Voice int `json:"voice"`
	SMS   int `json:"sms"`
}

// Messages are the survey-wide wordings that are not questions.
type Messages struct {
	NoInput  Localized `json:"no_input,omitempty"` // said before a re-ask after silence (voice)
	Invalid  Localized `json:"invalid,omitempty"`  // said before a re-ask after an invalid key (voice)
	OptedOut Localized `json:"opted_out"`          // the confirmation after an opt-out
	Help     Localized `json:"help,omitempty"`     // the SMS reply to HELP / 帮助
}

// Text is one wording in one language: what is said on a call and what is
// sent by SMS. A YAML string sets both; a mapping sets each.
type Text struct {
	Voice string `json:"voice,omitempty"`
	SMS   string `json:"sms,omitempty"`

	voiceNode, smsNode *yaml.Node
}

// For returns the wording for channel ch ("" when there is none).
func (t *Text) For(ch Channel) string {
	if t == nil {
		return ""
	}
	if ch == SMS {
		return t.SMS
	}
	return t.Voice
}

// Localized is wording by language code.
type Localized map[string]*Text

// Get returns the wording for lang on ch.
func (l Localized) Get(lang string, ch Channel) string { return l[lang].For(ch) }

// Question is one question of a survey and the fact its answer records.
type Question struct {
	ID           string                         `json:"id"`
	Type         QuestionType                   `json:"type"`
	Fact         string                         `json:"fact"`
	NonzeroFact  string                         `json:"nonzero_fact,omitempty"` // amount only: a bool fact set to amount > 0
	Channels     []Channel                      `json:"channels,omitempty"`     // empty: every channel of the survey
	Prompt       Localized                      `json:"prompt"`
	Instructions Localized                      `json:"instructions,omitempty"` // the full instructions of the last re-ask
	ReadBack     map[string]Localized           `json:"read_back,omitempty"`    // by answer: read back and confirm (calls)
	Keys         map[string]string              `json:"keys,omitempty"`         // yes/no questions: answer → key
	Words        map[string]map[string][]string `json:"words,omitempty"`        // language → answer → extra words
	Options      []Option                       `json:"options,omitempty"`
	Min          int                            `json:"min,omitempty"`
	Max          int                            `json:"max,omitempty"`
	MaxAmount    int64                          `json:"max_amount,omitempty"`  // in major units (yuan, dollars)
	MaxLength    int                            `json:"max_length,omitempty"`  // free text: the longest SMS reply, in characters
	MaxSeconds   int                            `json:"max_seconds,omitempty"` // free text: the longest recording on a call
	EachPart     bool                           `json:"each_part,omitempty"`
	MaxParts     int                            `json:"max_parts,omitempty"`
	SkipIf       []Condition                    `json:"skip_if,omitempty"`
	Next         *Next                          `json:"next,omitempty"`

	pos      Pos
	idPos    Pos
	factPos  Pos
	nzPos    Pos
	index    int
	keyLabel map[string]string   // key pressed → answer label
	phrases  *phraseTable        // the question's own answer words
	generic  *phraseTable        // the generic yes/no words, for yes/no questions
	hints    map[string][]string // language → speech hints
}

// Option is one answer of a choice question.
type Option struct {
	Value string              `json:"value"`
	Key   string              `json:"key"`
	Label map[string]string   `json:"label,omitempty"` // language → how the option is called
	Words map[string][]string `json:"words,omitempty"` // language → other words for it
}

// Next says where the flow goes after a question. Always sends every answer
// to the same place; Branches choose by answer, in file order, with "default"
// for the rest and "skipped" for a question skipped after failed re-asks.
// Without a match the flow continues with the next question in the file.
type Next struct {
	Always   string   `json:"always,omitempty"`
	Branches []Branch `json:"branches,omitempty"`

	alwaysIndex int
	alwaysPos   Pos
}

// Branch sends one answer (or range of scores) to a question id or "end".
type Branch struct {
	On string `json:"on"`
	To string `json:"to"`

	lo, hi  int // scores: the inclusive range On names
	isRange bool
	toIndex int // the target's index in Questions; len(Questions) for "end"
	pos     Pos // of the target
	keyPos  Pos // of the answer
}

// Condition is one skip_if test on the job or an earlier answer, written
// "subject op value": claimed_parts == 0, kind == install, channel == sms,
// lang != en, product == water_heater, facts.customer_charged == no.
type Condition struct {
	Subject string
	Op      string
	Value   string

	source string
	num    int64 // Value as a number, for numeric subjects
	pos    Pos
}

// MarshalJSON writes a condition as the text it was written as.
func (c Condition) MarshalJSON() ([]byte, error) { return json.Marshal(c.source) }

// String returns the condition as written.
func (c Condition) String() string { return c.source }

// Question returns the question with id, or nil.
func (d *Definition) Question(id string) *Question { return d.byID[id] }

// Language returns the settings of lang, or nil when it is not declared.
func (d *Definition) Language(lang string) *Language {
	for i := range d.Languages {
		if d.Languages[i].Code == lang {
			return &d.Languages[i]
		}
	}
	return nil
}

// HasChannel reports whether the survey runs on ch.
func (d *Definition) HasChannel(ch Channel) bool { return slices.Contains(d.Channels, ch) }

// asksOn reports whether q is asked on ch.
func (q *Question) asksOn(ch Channel) bool {
	return len(q.Channels) == 0 || slices.Contains(q.Channels, ch)
}

// Label names the answer v the way branches and read-backs do: yes, no,
// unsure, the score, the option's value, zero/nonzero for amounts, and
// same/different/unsure for dates (against the job's date). Free text has no
// label.
func (q *Question) Label(v Value, job *Job) string {
	if v.Kind == KindString && q.Type != TypeChoice {
		return ""
	}
	return valueLabel(v, job)
}

// valueLabel names a value as branches and skip_if conditions compare it.
func valueLabel(v Value, job *Job) string {
	switch v.Kind {
	case KindBool:
		if v.Bool {
			return "yes"
		}
		return "no"
	case KindTri:
		return string(v.Tri)
	case KindInt:
		return itoa(v.Int)
	case KindMoney:
		if v.Int == 0 {
			return "zero"
		}
		return "nonzero"
	case KindDate:
		switch {
		case v.Str == "":
			return "unsure"
		case job != nil && v.Str == job.LocalDate().Format("2006-01-02"):
			return "same"
		}
		return "different"
	}
	return v.Str
}
