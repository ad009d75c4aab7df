package reply

import (
	"strconv"
	"strings"

	"casemail/intake"
)

// The default acknowledgement (templates/LANG/ack.tmpl) is also written out
// here in Go. Every new case renders it on the goroutine that holds the
// store's write transaction, where text/template's reflection (a lookup by
// name for every field, a reflected call for every function) cost about
// 10 µs a case, the largest single step left in taking in a backlog. It is
// used only while the embedded template is in force for the language; an
// admin's override goes through text/template. TestAckMatchesTemplate
// checks it byte for byte against the template over thousands of random
// combinations of everything the template reads: a change to ack.tmpl must
// be made here too.

// ackText is the wording of the default acknowledgement in one language.
type ackText struct {
	w *words

	opened, forRequest   string // "…opened case ", " for your request."
	reopened, reopenedTo string // "\nThis case follows case ", ", which was closed; …"
	caseL, accountL      string // "\n\n  Case:        ", "\n  Account:     "
	engineL, severityL   string
	environmentL         string
	natureL              string
	natureIndent         int
	dueBy                string // "We will send you a first response by "
	targetFor, targetOn  string // " (the first-response target for severity ", " on your plan is "
	asap                 string
	asked, askedPlan     string // "\n\nYou asked for severity ", "), but your support plan\nallows severity "
	askedMost, askedSet  string // ") at most, so we set this case to severity ", "."
	dropped              string
	problems, problemSep string // "\n\nSome of the information…:", ": "
	engines              string // "\n  The engines of this account are: "
	example, exampleNone string // "\n\nPlease reply…\n  Engine: ", "the engine's name"
	missing, missingEnd  string // `missing; please add a line "`, `: ..."`
	missingAccount       string
	quoteOpen, quoteEnd  string // `"`, `"` around a value
	notAllowed           string // " is not available on your plan", after the quoted value
	notRecognised        string
	badSeverity          string
	badEngine            string
	keepTag, keepTagEnd  string // "\n\nTo add information, … keep [", "] in the\nsubject, …\n"
}

var ackTexts = map[string]*ackText{
	"en": {
		w:      vocab["en"],
		opened: "Hello,\n\nThank you for contacting support. We have opened case ", forRequest: " for your request.",
		reopened:   "\nThis case follows case ",
		reopenedTo: ", which was closed; both cases are linked, so the\nengineer who handles it sees the earlier conversation.",
		caseL:      "\n\n  Case:        ", accountL: "\n  Account:     ", engineL: "\n  Engine:      ",
		severityL: "\n  Severity:    ", environmentL: "\n  Environment: ", natureL: "\n  Nature:      ", natureIndent: 15,
		dueBy:     "We will send you a first response by ",
		targetFor: " (the first-response target for severity ", targetOn: " on your plan is ",
		asap:  "We will send you a first response as soon as possible.",
		asked: "\n\nYou asked for severity ", askedPlan: "), but your support plan\nallows severity ",
		askedMost: ") at most, so we set this case to severity ", askedSet: ".",
		dropped:  "\n\nThese attachments were too large or too many and were not kept; please send\nthem another way (for example a download link): ",
		problems: "\n\nSome of the information we need is missing or could not be used:", problemSep: ": ",
		engines: "\n  The engines of this account are: ",
		example: "\n\nPlease reply with the missing details, one per line, for example:\n  Engine: ", exampleNone: "the engine's name",
		missing: `missing; please add a line "`, missingEnd: `: ..."`,
		missingAccount: " with the account's primary email address",
		quoteOpen:      `"`, quoteEnd: `"`,
		notAllowed:    " is not available on your plan",
		notRecognised: " was not recognised",
		badSeverity:   " (use 1 urgent, 2 high, 3 normal or 4 low)",
		badEngine:     " as one of this account's engines",
		keepTag:       "\n\nTo add information, simply reply to this mail and keep [",
		keepTagEnd: "] in the\nsubject, so that your message joins this case. Please do not open a new mail\n" +
			"for the same problem.\n\nKind regards,\nThe support team\n",
	},
	"fr": {
		w:      vocab["fr"],
		opened: "Bonjour,\n\nMerci d'avoir contacté le support. Nous avons ouvert le dossier ", forRequest: " pour votre demande.",
		reopened:   "\nCe dossier fait suite au dossier ",
		reopenedTo: ", qui était clos ; les deux dossiers sont\nliés, afin que l'ingénieur qui le prend en charge voie l'échange précédent.",
		caseL:      "\n\n  Dossier :       ", accountL: "\n  Compte :        ", engineL: "\n  Moteur :        ",
		severityL: "\n  Sévérité :      ", environmentL: "\n  Environnement : ", natureL: "\n  Nature :        ", natureIndent: 18,
		dueBy:     "Nous vous enverrons une première réponse d'ici le ",
		targetFor: " (le délai de première réponse pour la sévérité ", targetOn: " de votre contrat est de ",
		asap:  "Nous vous enverrons une première réponse dès que possible.",
		asked: "\n\nVous avez demandé la sévérité ", askedPlan: "), mais votre contrat de support\nautorise au plus la sévérité ",
		askedMost: ") ; nous avons donc classé ce dossier en sévérité ", askedSet: ".",
		dropped: "\n\nCes pièces jointes étaient trop volumineuses ou trop nombreuses et n'ont pas\nété conservées ; " +
			"merci de nous les transmettre autrement (par exemple un lien\nde téléchargement) : ",
		problems: "\n\nCertaines informations dont nous avons besoin manquent ou n'ont pas pu être utilisées :", problemSep: " : ",
		engines: "\n  Les moteurs de ce compte sont : ",
		example: "\n\nMerci de répondre en indiquant les informations manquantes, une par ligne, par exemple :\n  Moteur : ", exampleNone: "le nom du moteur",
		missing: "manquant ; merci d'ajouter une ligne « ", missingEnd: " : ... »",
		missingAccount: " avec l'adresse e-mail principale du compte",
		quoteOpen:      "« ", quoteEnd: " »",
		notAllowed:    " n'est pas disponible avec votre contrat",
		notRecognised: " n'a pas été reconnu",
		badSeverity:   " (indiquez 1 urgente, 2 élevée, 3 normale ou 4 faible)",
		badEngine:     " parmi les moteurs de ce compte",
		keepTag:       "\n\nPour compléter votre demande, répondez simplement à ce message en gardant\n[",
		keepTagEnd: "] dans l'objet, afin que votre message rejoigne ce dossier. Merci de\n" +
			"ne pas écrire un nouveau message pour le même problème.\n\nCordialement,\nL'équipe support\n",
	},
}

// subject is what the template's "subject" writes.
func (a *ackText) subject(data *intake.MailData) string {
	s := data.Case.Subject
	if s == "" {
		s = data.Subject
	}
	return "[" + string(data.Case.ID) + "] " + a.w.bare(s)
}

// writeBody writes what the template's "body" writes.
func (a *ackText) writeBody(b *strings.Builder, data *intake.MailData) {
	c := data.Case
	id := string(c.ID)
	sev := strconv.Itoa(c.Severity)
	b.WriteString(a.opened + id + a.forRequest)
	if data.ReopenedFrom != "" {
		b.WriteString(a.reopened + string(data.ReopenedFrom) + a.reopenedTo)
	}
	b.WriteString(a.caseL + id + a.accountL + a.w.orNotSet(c.Account))
	if data.Account != nil && data.Account.Name != "" {
		b.WriteString(" (" + data.Account.Name + ")")
	}
	b.WriteString(a.engineL + a.w.orNotSet(c.Engine))
	b.WriteString(a.severityL + sev + " (" + a.w.severityName(c.Severity) + ")")
	if c.Environment != "" {
		b.WriteString(a.environmentL + c.Environment)
	}
	b.WriteString(a.natureL + indent(a.natureIndent, a.w.orNotSet(c.Nature)) + "\n\n")
	if data.Due != "" {
		b.WriteString(a.dueBy + data.Due)
		if data.Target != "" {
			b.WriteString(a.targetFor + sev + a.targetOn + a.w.target(data.Target) + ")")
		}
		b.WriteString(".")
	} else {
		b.WriteString(a.asap)
	}
	if data.SeverityLowered {
		req := data.RequestedSeverity
		b.WriteString(a.asked + strconv.Itoa(req) + " (" + a.w.severityName(req) + a.askedPlan +
			sev + " (" + a.w.severityName(c.Severity) + a.askedMost + sev + a.askedSet)
	}
	if len(data.Dropped) > 0 {
		b.WriteString(a.dropped + strings.Join(data.Dropped, ", ") + ".")
	}
	if len(data.Problems) > 0 {
		b.WriteString(a.problems)
		for _, p := range data.Problems {
			b.WriteString("\n  - " + a.w.fieldName(p.Field) + a.problemSep)
			a.problem(b, p)
		}
		if len(data.Engines) > 0 {
			b.WriteString(a.engines + strings.Join(data.Engines, ", ") + ".")
		}
		example := a.exampleNone
		if len(data.Engines) > 0 {
			example = data.Engines[0]
		}
		b.WriteString(a.example + example)
	}
	b.WriteString(a.keepTag + id + a.keepTagEnd + data.Support + "\n")
}

// problem is what the template's "problem" writes.
func (a *ackText) problem(b *strings.Builder, p intake.Problem) {
	switch p.Reason {
	case "missing":
		b.WriteString(a.missing + a.w.fieldName(p.Field) + a.missingEnd)
		if p.Field == "account" {
			b.WriteString(a.missingAccount)
		}
	case "not_allowed":
		b.WriteString(a.quoteOpen + p.Value + a.quoteEnd + a.notAllowed)
	default:
		b.WriteString(a.quoteOpen + p.Value + a.quoteEnd + a.notRecognised)
		if p.Field == "severity" {
			b.WriteString(a.badSeverity)
		}
		if p.Field == "engine" {
			b.WriteString(a.badEngine)
		}
	}
}
