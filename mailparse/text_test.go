package mailparse_test

import (
	"strings"
	"testing"

	"casemail/mailparse"
)

func TestExtractFields(t *testing.T) {
	type F = mailparse.Fields
	for i, tc := range []struct {
		text string
		want F
	}{
		{"Account: admin@acme.example\nEngine: acme-search", F{Account: "admin@acme.example", Engine: "acme-search"}},
		{"Compte : admin@acme.example\nMoteur : acme-search", F{Account: "admin@acme.example", Engine: "acme-search"}},
		{"MOTEUR: acme-search", F{Engine: "acme-search"}},
		{"Moteur\u00a0: acme-search", F{Engine: "acme-search"}},
		{"Moteur\u202f: acme-search", F{Engine: "acme-search"}},
		{"moteur :   acme-search   ", F{Engine: "acme-search"}},
		{"Severity: 1", F{Severity: 1}},
		{"Severity: 2 - high", F{Severity: 2}},
		{"Severity: 4 (low)", F{Severity: 4}},
		{"Sévérité : urgente", F{Severity: 1}},
		{"Gravité : Élevée", F{Severity: 2}},
		{"GRAVITÉ : ÉLEVÉE", F{Severity: 2}},
		{"Priorité : haute", F{Severity: 2}},
		{"Priority: critical", F{Severity: 1}},
		{"Priority: major", F{Severity: 2}},
		{"Severity: normal", F{Severity: 3}},
		{"Sévérité : mineure", F{Severity: 3}},
		{"Severity: medium", F{Severity: 3}},
		{"Gravité : faible", F{Severity: 4}},
		{"Priorité : basse", F{Severity: 4}},
		{"Severity: low", F{Severity: 4}},
		{"Severity: P2", F{Severity: 2}},
		{"Severity: 5", F{SeverityRaw: "5"}},
		{"Gravité : bof", F{SeverityRaw: "bof"}},
		{"Severity: 12", F{SeverityRaw: "12"}},
		{"Nature: search returns 500", F{Nature: "search returns 500"}},
		{"Problem: slow queries", F{Nature: "slow queries"}},
		{"Problème : requêtes lentes", F{Nature: "requêtes lentes"}},
		{"Issue: timeouts", F{Nature: "timeouts"}},
		{"Environment: production", F{Environment: "production"}},
		{"Environnement : préproduction", F{Environment: "préproduction"}},
		{"- Engine: acme-search\n* Severity: 2", F{Engine: "acme-search", Severity: 2}},
		{"  • Moteur : acme-search", F{Engine: "acme-search"}},
		{"Engine: first\nEngine: second", F{Engine: "first"}},
		{"Account: <Admin@Acme.example>", F{Account: "admin@acme.example"}},
		{"Account: Acme <Admin@Acme.example>", F{Account: "admin@acme.example"}},
		{"Compte : mailto:admin@acme.example", F{Account: "admin@acme.example"}},
		{"Account: Acme Corp", F{Account: "Acme Corp"}},
		{"> Engine: quoted\nEngine: mine", F{Engine: "mine"}},
		{"Merci.\n\nLe lun. 5 janv. 2026 à 10:00, Support <s@x.example> a écrit :\n> Moteur : old", F{}},
		{"Merci.\nLe lun. 5 janv. 2026 à 10:00, Support <s@x.example> a écrit :\nMoteur : old history", F{}},
		{"Thanks\n\nOn Mon, Jan 5, 2026 at 10:00 AM Support <s@x.example>\nwrote:\n> Engine: old", F{}},
		{"Hi\n-----Original Message-----\nFrom: a\nEngine: old", F{}},
		{"Hi\nDe : Support\nEnvoyé : lundi\nÀ : Bob\nObjet : RE: x\nMoteur : old", F{}},
		{"The engine: acme-search is down", F{}},
		{"Engine:", F{}},
		{"**Engine:** acme-search", F{Engine: "acme-search"}},
		{"Engine: acme-search\r\nSeverity: 3\r\n", F{Engine: "acme-search", Severity: 3}},
		{"Severity: 5\nSeverity: 2", F{SeverityRaw: "5"}},
		{"", F{}},
	} {
		if got := mailparse.ExtractFields(tc.text); got != tc.want {
			t.Errorf("%d: ExtractFields(%q) = %+v, want %+v", i, tc.text, got, tc.want)
		}
	}
}

func TestSubjects(t *testing.T) {
	for _, tc := range []struct {
		subject, stripped, tag string
	}{
		{"[CASE-1000] Search is down", "[CASE-1000] Search is down", "CASE-1000"},
		{"Re: [CASE-1000] Search is down", "[CASE-1000] Search is down", "CASE-1000"},
		{"RE : [CASE-1000] x", "[CASE-1000] x", "CASE-1000"},
		{"re: [case-1000] x", "[case-1000] x", "CASE-1000"},
		{"Réf : [CASE-1001] x", "[CASE-1001] x", "CASE-1001"},
		{"Rép\u00a0: [CASE-1001] x", "[CASE-1001] x", "CASE-1001"},
		{"AW: WG: [CASE-1002] Suche", "[CASE-1002] Suche", "CASE-1002"},
		{"TR: [CASE-1003] recherche", "[CASE-1003] recherche", "CASE-1003"},
		{"SV: VS: [CASE-1004] x", "[CASE-1004] x", "CASE-1004"},
		{"Antw: [CASE-1005] x", "[CASE-1005] x", "CASE-1005"},
		{"RIF: [CASE-1006] x", "[CASE-1006] x", "CASE-1006"},
		{"ODP: Odp: [CASE-1007] x", "[CASE-1007] x", "CASE-1007"},
		{"Fwd: FW: [CASE-1008] x", "[CASE-1008] x", "CASE-1008"},
		{"回复: [CASE-1009] 搜索", "[CASE-1009] 搜索", "CASE-1009"},
		{"转发：[CASE-1010] x", "[CASE-1010] x", "CASE-1010"},
		{"Ynt: [CASE-1011] x", "[CASE-1011] x", "CASE-1011"},
		{"Vá: [CASE-1012] x", "[CASE-1012] x", "CASE-1012"},
		{"Doorst: [CASE-1013] x", "[CASE-1013] x", "CASE-1013"},
		{"R: I: [CASE-1014] x", "[CASE-1014] x", "CASE-1014"},
		{"Re[2]: [CASE-1015] x", "[CASE-1015] x", "CASE-1015"},
		{"Re: Re: Fwd: [CASE-1016] x", "[CASE-1016] x", "CASE-1016"},
		{"Re:Re:[CASE-1017]x", "[CASE-1017]x", "CASE-1017"},
		{"  re :  RE:   Tr : x", "x", ""},
		{"Question about [CASE-1018] and more", "Question about [CASE-1018] and more", "CASE-1018"},
		{"Re: Search is down", "Search is down", ""},
		{"Re: [TICKET-1000] x", "[TICKET-1000] x", ""},
		{"Re: [CASE-abc] x", "[CASE-abc] x", ""},
		{"Re: [CASE-] x", "[CASE-] x", ""},
		{"Re: [CASE-12a] then [CASE-1019]", "[CASE-12a] then [CASE-1019]", "CASE-1019"},
		{"Re: [CASE 1000] x", "[CASE 1000] x", ""},
		{"Réponse: x", "Réponse: x", ""},
		{"Recall: meeting", "Recall: meeting", ""},
		{"", "", ""},
		{"[CASE-1020][CASE-1021]", "[CASE-1020][CASE-1021]", "CASE-1020"},
		{"Re: [CASE-99999999999999999999] huge", "[CASE-99999999999999999999] huge", ""},
	} {
		if got := mailparse.StripPrefixes(tc.subject); got != tc.stripped {
			t.Errorf("StripPrefixes(%q) = %q, want %q", tc.subject, got, tc.stripped)
		}
		got, ok := mailparse.CaseTag(tc.subject, "CASE")
		if got != tc.tag || ok != (tc.tag != "") {
			t.Errorf("CaseTag(%q) = %q %v, want %q", tc.subject, got, ok, tc.tag)
		}
	}
	if got, ok := mailparse.CaseTag("Re: [case-7]", "Case"); !ok || got != "Case-7" {
		t.Errorf("CaseTag keeps the given prefix: %q", got)
	}
}

func TestNewText(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Hello\n\nThanks", "Hello\n\nThanks"},
		{"gmail", "Works now.\n\nOn Mon, Jan 5, 2026 at 10:00 AM Support <s@x.example> wrote:\n> old\n> text", "Works now."},
		{"gmail two lines", "Works now.\n\nOn Mon, Jan 5, 2026 at 10:00 AM Acme Support Team <support@example.com>\nwrote:\n\n> old", "Works now."},
		{"gmail fr", "Ça marche.\n\nLe lun. 5 janv. 2026 à 10:00, Support <s@x.example> a écrit :\n> ancien", "Ça marche."},
		{"gmail fr two lines", "Ça marche.\n\nLe lun. 5 janv. 2026 à 10:00, Acme Support <support@example.com> a\nécrit :\n> ancien", "Ça marche."},
		{"gmail fr nbsp", "Ok\n\nLe 5 janv. 2026, Support a écrit\u00a0:\n> ancien", "Ok"},
		{"thunderbird", "Done.\n\nOn 05/01/2026 10:00, Support wrote:\n> old", "Done."},
		{"apple", "Fine.\n\nSent from my iPhone\n\nOn 1 Jan 2026, at 10:00, Support <s@x.example> wrote:\n\n> old", "Fine."},
		{"apple fr", "Parfait.\n\nEnvoyé de mon iPhone\n\n> Le 1 janv. 2026 à 10:00, Support <s@x.example> a écrit :\n>\n> ancien", "Parfait."},
		{"outlook", "See below.\n\nFrom: Acme Support <support@example.com>\nSent: Monday, January 5, 2026 10:00 AM\nTo: Bob <bob@acme.example>\nSubject: [CASE-1000] x\n\nold text", "See below."},
		{"outlook underscores", "Ok.\n\n________________________________\nFrom: Support\nSent: Monday\nTo: Bob\nSubject: x\n\nold", "Ok."},
		{"outlook fr", "Voir ci-dessous.\n\nDe : Acme Support <support@example.com>\nEnvoyé : lundi 5 janvier 2026 10:00\nÀ : Bob\nObjet : RE: [CASE-1000] x\n\nancien", "Voir ci-dessous."},
		{"outlook fr bold", "Merci\n\n*De :* Support\n*Envoyé :* lundi\n*À :* Bob\n*Objet :* x\nancien", "Merci"},
		{"original message", "Yes.\n\n-----Original Message-----\nFrom: x\nold", "Yes."},
		{"message d'origine", "Oui.\n\n-----Message d'origine-----\nDe : x\nancien", "Oui."},
		{"forwarded", "FYI\n\n---------- Forwarded message ---------\nFrom: x\nold", "FYI"},
		{"begin forwarded", "FYI\n\nBegin forwarded message:\n\nFrom: x", "FYI"},
		{"signature", "Thanks\n\n-- \nBob Smith\nAcme", "Thanks"},
		{"signature no space", "Thanks\n--\nBob", "Thanks"},
		{"envoyé de mon", "D'accord.\nEnvoyé de mon iPad", "D'accord."},
		{"bottom posting", "On Mon, Jan 5, 2026 Support wrote:\n> Can you retry?\n\nYes, it works now.", "Yes, it works now."},
		{"inline answers", "Support wrote:\n> Which version?\n7.2\n> Which OS?\nLinux\n\n-- \nBob", "7.2\nLinux"},
		{"inline answers fr", "Le 5 janv. 2026, Support a écrit :\n> Quelle version ?\n\n7.2\n\n> Quel OS ?\n\nLinux", "7.2\n\nLinux"},
		{"quoted only", "> a\n> b", ""},
		{"crlf", "Hi\r\n\r\nOn Mon, X wrote:\r\n> old\r\n", "Hi"},
		{"keeps normal colons", "Note: the index is fine.\nFrom: my side all good.", "Note: the index is fine.\nFrom: my side all good."},
		{"keeps wrote without quote", "He wrote:\nnothing quoted here", "He wrote:\nnothing quoted here"},
		{"html blockquote", "Thanks\n\nOn Mon, X wrote:\n\n> Hello\n> Please reindex", "Thanks"},
		{"blank lines collapsed", "a\n\n\n\n\nb", "a\n\n\nb"},
	} {
		if got := mailparse.NewText(tc.in); got != tc.want {
			t.Errorf("%s: NewText(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestDetectLanguage(t *testing.T) {
	for _, tc := range []struct{ text, cl, want string }{
		{"Bonjour, notre moteur ne répond plus depuis ce matin.", "", "fr"},
		{"Hello, our engine is not responding since this morning.", "", "en"},
		{"Hello, the search is down", "fr", "fr"},
		{"Bonjour, la recherche est en panne", "en-US", "en"},
		{"Bonjour, la recherche est en panne", "fr-FR", "fr"},
		{"Hello", "de", "en"},
		{"Merci pour votre aide, c'est réglé.", "de", "fr"},
		{"", "", "en"},
		{"12345 !!!", "", "en"},
		{"J'ai un problème avec l'index.", "", "fr"},
		{"Thanks, I'll check it and get back to you with the logs.", "", "en"},
		{"Cordialement", "", "fr"},
		{"Hi, can you re-open this?", "french", "en"},
	} {
		if got := mailparse.DetectLanguage(tc.text, tc.cl); got != tc.want {
			t.Errorf("DetectLanguage(%q, %q) = %q, want %q", tc.text, tc.cl, got, tc.want)
		}
	}
}

func TestCommands(t *testing.T) {
	type C = mailparse.Command
	for _, tc := range []struct {
		in   string
		want []C
		rest string
	}{
		{"#note\nInternal remark", []C{{"note", ""}}, "Internal remark"},
		{"#resolve\n\nThe fix is deployed.", []C{{"resolve", ""}}, "The fix is deployed."},
		{"#Severity 2\n#waiting\nPlease send logs.", []C{{"severity", "2"}, {"waiting", ""}}, "Please send logs."},
		{"  #close  \n", []C{{"close", ""}}, ""},
		{"\n\n#note\n\n#resolve\nText", []C{{"note", ""}, {"resolve", ""}}, "Text"},
		{"#severity: 1\nx", []C{{"severity", "1"}}, "x"},
		{"#frobnicate now\nx", []C{{"frobnicate", "now"}}, "x"},
		{"Hello\n#resolve", nil, "Hello\n#resolve"},
		{"# heading\ntext", nil, "# heading\ntext"},
		{"#123 issue", nil, "#123 issue"},
		{"", nil, ""},
		{"#note\r\ntext\r\n", []C{{"note", ""}}, "text\r\n"},
	} {
		got, rest := mailparse.Commands(tc.in)
		if len(got) != len(tc.want) || rest != tc.rest {
			t.Errorf("Commands(%q) = %+v, %q; want %+v, %q", tc.in, got, rest, tc.want, tc.rest)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("Commands(%q)[%d] = %+v, want %+v", tc.in, i, got[i], tc.want[i])
			}
		}
	}
}

func TestRating(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"5", 5}, {"5/5", 5}, {"4 / 5", 4}, {"note : 4", 4}, {"Note: 3", 3}, {"rating: 2", 2},
		{"I'd give it 4", 4}, {"I’d give it 4.", 4}, {"je mets 5", 5}, {"Je mets 5/5, merci !", 5},
		{"  \n3\n\nOn Mon, X wrote:\n> Rate us 1-5", 3}, {"4 sur 5", 4}, {"1 out of 5", 1}, {"5 stars", 5},
		{"Note : 2 sur 5", 2}, {"Rating:1", 1}, {"je donne 3", 3}, {"5!", 5},
		{"0", 0}, {"6", 0}, {"10/10", 0}, {"4.5", 0}, {"3/10", 0}, {"great service", 0},
		{"The 5 engineers", 0}, {"", 0}, {"note : excellent", 0}, {"12 issues", 0},
	} {
		got, ok := mailparse.Rating(tc.in)
		if got != tc.want || ok != (tc.want != 0) {
			t.Errorf("Rating(%q) = %d %v, want %d", tc.in, got, ok, tc.want)
		}
	}
}

func TestNewTextKeepsLongText(t *testing.T) {
	long := strings.Repeat("word ", 10000)
	if got := mailparse.NewText(long); got != strings.TrimSpace(long) {
		t.Error("long text changed")
	}
}

// TestDetectLanguageLongerLowerCase: a letter whose lower case takes more
// bytes (Ⱥ, 2 bytes; ⱥ, 3) at the end of a word that fills the word buffer
// once made DetectLanguage index past it.
func TestDetectLanguageLongerLowerCase(t *testing.T) {
	for n := 25; n <= 40; n++ {
		text := strings.Repeat("a", n) + "Ⱥ the issue is"
		if got := mailparse.DetectLanguage(text, ""); got != "en" {
			t.Errorf("%d letters then Ⱥ: %q, want en", n, got)
		}
	}
}
