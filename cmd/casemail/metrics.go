package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"casemail/intake"
	"casemail/store"
)

// Metrics are casemail's Prometheus metrics, all named casemail_…; counters
// count from the process's start.
type Metrics struct {
	reg             *prometheus.Registry
	messages        *prometheus.CounterVec
	fetched         prometheus.Counter
	sentTotal       prometheus.Counter
	sendFailures    prometheus.Counter
	reconnects      prometheus.Counter
	pollDuration    prometheus.Histogram
	contactsReloads *prometheus.CounterVec
	sla             *prometheus.CounterVec
}

// NewMetrics registers every metric on a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "casemail_messages_total",
			Help: "Processed mails by outcome: case_created, follow_up, refused, suppressed, quarantined, rejected.",
		}, []string{"outcome"}),
		fetched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "casemail_messages_fetched_total", Help: "Mails fetched from the IMAP folder.",
		}),
		sentTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "casemail_smtp_sent_total", Help: "Mails the SMTP server accepted.",
		}),
		sendFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "casemail_smtp_send_failures_total", Help: "Delivery attempts that failed (retried or dropped).",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "casemail_imap_reconnects_total", Help: "IMAP sessions that ended and were reconnected.",
		}),
		pollDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "casemail_poll_duration_seconds", Help: "Time to fetch, process and move the new mail of one poll.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		contactsReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "casemail_contacts_reloads_total", Help: "Reloads of the contacts file by result (ok, failed).",
		}, []string{"result"}),
	}
	m.sla = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "casemail_sla_events_total", Help: "First-response warnings (75 % of the target) and breaches, by kind.",
	}, []string{"kind"})
	m.sla.WithLabelValues("warning")
	m.sla.WithLabelValues("breach")
	for _, o := range intake.Outcomes {
		m.messages.WithLabelValues(string(o))
	}
	m.contactsReloads.WithLabelValues("ok")
	m.contactsReloads.WithLabelValues("failed")
	m.reg.MustRegister(m.messages, m.fetched, m.sentTotal, m.sendFailures, m.reconnects,
		m.pollDuration, m.contactsReloads, m.sla,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) sent(_ *intake.Outgoing, err error) {
	if err == nil {
		m.sentTotal.Inc()
	} else {
		m.sendFailures.Inc()
	}
}

// watchStore exports gauges read from the store at scrape time: cases by
// state, outbox depth and the age of its oldest mail.
func (m *Metrics) watchStore(db *store.DB, now func() time.Time) {
	cases := prometheus.NewDesc("casemail_cases", "Cases by state.", []string{"state"}, nil)
	depthDesc := prometheus.NewDesc("casemail_outbox_depth", "Mails queued for delivery.", nil, nil)
	oldest := prometheus.NewDesc("casemail_outbox_oldest_seconds", "Age of the oldest queued mail.", nil, nil)
	m.reg.MustRegister(collectorFunc{
		descs: []*prometheus.Desc{cases, depthDesc, oldest},
		collect: func(ch chan<- prometheus.Metric) {
			var counts map[intake.State]int
			var depth int
			var first *intake.Outgoing
			err := db.View(func(tx intake.Tx) (err error) {
				counts = tx.CaseCounts()
				depth, first, err = tx.OutboxStats()
				return err
			})
			if err != nil {
				return
			}
			for _, s := range []intake.State{intake.StateOpen, intake.StateWaiting, intake.StateResolved, intake.StateClosed} {
				ch <- prometheus.MustNewConstMetric(cases, prometheus.GaugeValue, float64(counts[s]), string(s))
			}
			ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(depth))
			age := 0.0
			if first != nil {
				age = now().Sub(first.Date).Seconds()
			}
			ch <- prometheus.MustNewConstMetric(oldest, prometheus.GaugeValue, age)
		},
	})
}

type collectorFunc struct {
	descs   []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
