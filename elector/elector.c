/* SPDX-License-Identifier: Apache-2.0 */
/*
 * elector: leader election for cfgwd --leader-elect, on a
 * coordination.k8s.io/v1 Lease, in the manner of client-go's
 * leaderelection.  cfgwd starts it before any worker; it writes one line,
 * "leading", to its stdout (a pipe to cfgwd) when it holds the Lease, and
 * cfgwd starts the workers then.  Its exit is the loss of the lead: cfgwd
 * stops its workers and exits, and Kubernetes starts it again as a
 * candidate.  EOF on stdin means cfgwd has stopped its workers, or died
 * (they die with it): the Lease is released.
 *
 * Another holder's Lease is taken only when its record (holder, renewTime,
 * resourceVersion) has not changed for the lease duration as measured
 * here, on the monotonic clock, so clocks that disagree do not matter.
 * Every write carries the resourceVersion read, so two candidates never
 * both win.  A leader that has not renewed for the renew deadline gives
 * up (exit 1) before another may take the Lease (the lease duration is
 * longer).  On SIGTERM a leader releases the Lease (holderIdentity "",
 * leaseDurationSeconds 1) so a standby takes over at once.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "kube.h"
#include "log.h"
#include "sandbox.h"

struct elect {
	struct kube		*k;
	const struct kube_res	*res;
	const char		*ns;
	const char		*name;
	const char		*id;
	long			 lease_ms, renew_ms, retry_ms;
	long long		 lease_s;	/* leaseDurationSeconds */
	int			 leading;
	long long		 renewed;	/* last renewal (monotonic) */
	char			 seen[512];	/* the record last observed */
	long long		 seen_at;	/* ... and when it changed */
};

static volatile sig_atomic_t	 quit;

/* As the watcher's: TCP to the API server, the credentials read-only. */
static struct sandbox_profile elector_profile = {
	.name = "elector",
	.undumpable = 1,
	.network = 1,
	.ro_paths = { "/var/run/secrets/kubernetes.io/serviceaccount" },
};

static void
on_term(int sig)
{
	(void)sig;
	quit = 1;
}

static long long
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A MicroTime: 2026-11-27T14:30:00.123456Z. */
static void
micro_now(char *buf, size_t sz)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 s[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, sz, "%.19s.%06dZ", s, (int)(ts.tv_nsec / 1000) % 1000000);
}

/* The Lease object we write; rv NULL for a create. */
static int
lease_body(struct elect *e, const char *rv, const char *holder,
    long long dur_s, const char *acquired, long long transitions,
    char **body, size_t *len)
{
	struct jw	*w;
	const char	*buf;
	char		 now[48];
	int		 rc = -1;

	if ((w = jw_new()) == NULL)
		return -1;
	micro_now(now, sizeof(now));
	jw_obj(w);
	jw_kstr(w, "apiVersion", "coordination.k8s.io/v1");
	jw_kstr(w, "kind", "Lease");
	jw_key(w, "metadata");
	jw_obj(w);
	jw_kstr(w, "name", e->name);
	jw_kstr(w, "namespace", e->ns);
	if (rv != NULL)
		jw_kstr(w, "resourceVersion", rv);
	jw_obj_end(w);
	jw_key(w, "spec");
	jw_obj(w);
	jw_kstr(w, "holderIdentity", holder);
	jw_kint(w, "leaseDurationSeconds", dur_s);
	jw_kstr(w, "acquireTime", acquired != NULL ? acquired : now);
	jw_kstr(w, "renewTime", now);
	jw_kint(w, "leaseTransitions", transitions);
	jw_obj_end(w);
	jw_obj_end(w);
	if (jw_result(w, &buf, len) == 0 && (*body = strdup(buf)) != NULL)
		rc = 0;
	jw_free(&w);
	return rc;
}

/* Note the record; 1 if it changed since the last look. */
static int
lease_observe(struct elect *e, yajl_val lease)
{
	yajl_val	 spec = json_get(lease, "spec");
	char		 rec[512];

	snprintf(rec, sizeof(rec), "%s|%s|%s",
	    json_str(spec, "holderIdentity") ? json_str(spec,
	    "holderIdentity") : "", json_str(spec, "renewTime") ?
	    json_str(spec, "renewTime") : "", kube_obj_rv(lease) ?
	    kube_obj_rv(lease) : "");
	if (strcmp(rec, e->seen) == 0)
		return 0;
	(void)snprintf(e->seen, sizeof(e->seen), "%s", rec);
	e->seen_at = mono_ms();
	return 1;
}

/* One attempt to take or keep the Lease: 0 when we hold it now. */
static int
lease_try(struct elect *e)
{
	struct kube_resp	 r, w;
	yajl_val		 spec;
	const char		*holder, *acq;
	char			*body = NULL;
	size_t			 len;
	long long		 dur = 0, trans = 0;
	int			 rc = -1, ours;

	memset(&r, 0, sizeof(r));
	memset(&w, 0, sizeof(w));
	if (kube_get(e->k, e->res, e->ns, e->name, 0, &r) == -1) {
		if (r.status != 404) {
			log_warnx("Lease %s/%s: get: %ld %s", e->ns, e->name,
			    r.status, r.message);
			goto out;
		}
		if (lease_body(e, NULL, e->id, e->lease_s, NULL, 0,
		    &body, &len) == -1)
			goto out;
		if (kube_create(e->k, e->res, e->ns, body, len, "cfgwd",
		    &w) == -1) {
			log_warnx("Lease %s/%s: create: %ld %s", e->ns,
			    e->name, w.status, w.message);
			goto out;
		}
		rc = 0;
		goto out;
	}
	spec = json_get(r.json, "spec");
	holder = json_str(spec, "holderIdentity");
	ours = holder != NULL && strcmp(holder, e->id) == 0;
	(void)lease_observe(e, r.json);
	if (json_int(spec, "leaseDurationSeconds", &dur) == -1 || dur < 1)
		dur = e->lease_s;	/* theirs unknown */
	(void)json_int(spec, "leaseTransitions", &trans);
	if (!ours && holder != NULL && *holder != '\0' &&
	    mono_ms() - e->seen_at < dur * 1000)
		goto out;		/* another holds it */
	acq = ours ? json_str(spec, "acquireTime") : NULL;
	if (lease_body(e, kube_obj_rv(r.json), e->id, e->lease_s,
	    acq, ours ? trans : trans + 1, &body, &len) == -1)
		goto out;
	if (kube_update(e->k, e->res, e->ns, e->name, body, len, "cfgwd",
	    &w) == -1) {
		if (w.status == 409)
			log_debug("Lease %s/%s: conflict, someone else wrote "
			    "it", e->ns, e->name);
		else
			log_warnx("Lease %s/%s: update: %ld %s", e->ns,
			    e->name, w.status, w.message);
		goto out;
	}
	if (!ours)
		log_info("Lease %s/%s taken from %s", e->ns, e->name,
		    holder != NULL && *holder != '\0' ? holder : "nobody");
	rc = 0;
out:
	if (rc == 0 && w.json != NULL)
		(void)lease_observe(e, w.json);
	free(body);
	kube_resp_free(&r);
	kube_resp_free(&w);
	return rc;
}

/* A leader's goodbye: an empty holder, so a standby need not wait. */
static void
lease_release(struct elect *e)
{
	struct kube_resp	 r, w;
	yajl_val		 spec;
	const char		*holder;
	char			*body = NULL;
	size_t			 len;
	long long		 trans = 0;

	memset(&r, 0, sizeof(r));
	memset(&w, 0, sizeof(w));
	if (kube_get(e->k, e->res, e->ns, e->name, 0, &r) == -1)
		goto out;
	spec = json_get(r.json, "spec");
	holder = json_str(spec, "holderIdentity");
	if (holder == NULL || strcmp(holder, e->id) != 0)
		goto out;
	(void)json_int(spec, "leaseTransitions", &trans);
	if (lease_body(e, kube_obj_rv(r.json), "", 1, json_str(spec,
	    "acquireTime"), trans, &body, &len) == 0 &&
	    kube_update(e->k, e->res, e->ns, e->name, body, len, "cfgwd",
	    &w) == 0)
		log_info("Lease %s/%s released", e->ns, e->name);
	else
		log_warnx("Lease %s/%s: release: %ld %s", e->ns, e->name,
		    w.status, w.message);
out:
	free(body);
	kube_resp_free(&r);
	kube_resp_free(&w);
}

static void
usage(void)
{
	fprintf(stderr, "usage: elector --namespace NS --name NAME "
	    "--identity ID [--kubeconfig PATH] [--context NAME]\n"
	    "\t[--lease-duration-ms N] [--renew-deadline-ms N] "
	    "[--retry-period-ms N] [--log-dir DIR] [--log-format F] [-v]\n");
	exit(2);
}

static long
arg_ms(const char *s)
{
	char	*end;
	long	 v = strtol(s, &end, 10);

	if (*end != '\0' || v < 100 || v > 3600000)
		usage();
	return v;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "context", required_argument, NULL, 'c' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "name", required_argument, NULL, 'N' },
		{ "identity", required_argument, NULL, 'i' },
		{ "lease-duration-ms", required_argument, NULL, 'L' },
		{ "renew-deadline-ms", required_argument, NULL, 'R' },
		{ "retry-period-ms", required_argument, NULL, 'P' },
		{ "log-dir", required_argument, NULL, 'd' },
		{ "log-format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct elect		 e;
	struct kube_opts	 ko;
	struct pollfd		 pfd;
	enum log_format		 fmt = LOG_FORMAT_TEXT;
	const char		*logdir = NULL, *files[4];
	char			 buf[64], dirs[4][512];
	int			 i, nf;
	long long		 now, next = 0;
	int			 ch, verbose = 0;

	memset(&e, 0, sizeof(e));
	memset(&ko, 0, sizeof(ko));
	e.lease_ms = 35000;
	e.renew_ms = 30000;
	e.retry_ms = 5000;
	while ((ch = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (ch) {
		case 'k': ko.kubeconfig = optarg; break;
		case 'c': ko.context = optarg; break;
		case 'n': e.ns = optarg; break;
		case 'N': e.name = optarg; break;
		case 'i': e.id = optarg; break;
		case 'L': e.lease_ms = arg_ms(optarg); break;
		case 'R': e.renew_ms = arg_ms(optarg); break;
		case 'P': e.retry_ms = arg_ms(optarg); break;
		case 'd': logdir = optarg; break;
		case 'f':
			if (log_format_parse(optarg, &fmt) == -1)
				usage();
			break;
		case 'v': verbose++; break;
		default: usage();
		}
	}
	if (e.ns == NULL || e.name == NULL || e.id == NULL || *e.id == '\0' ||
	    e.retry_ms >= e.renew_ms || e.renew_ms >= e.lease_ms)
		usage();
	e.lease_s = (e.lease_ms + 999) / 1000;
	if (log_init("elector", logdir, fmt, verbose) == -1)
		fatal("cannot open log file in %s", logdir);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)getpid() ^ (unsigned)mono_ms());
	ko.user_agent = "cfgw/" CFGW_VERSION " (elector)";
	ko.timeout_ms = e.retry_ms;
	ko.connect_timeout_ms = e.retry_ms;
	ko.max_retries = -1;		/* the loop is the retry */
	if ((e.k = kube_new(&ko)) == NULL)
		fatalx("cannot set up the Kubernetes client");
	e.res = kube_res_lookup("Lease");
	nf = kube_files(e.k, files, 4);
	for (i = 0; i < nf; i++) {
		snprintf(dirs[i], sizeof(dirs[i]), "%s", files[i]);
		elector_profile.ro_paths[1 + i] = dirname(dirs[i]);
	}
	sandbox_set_context(-1, NULL, logdir, ko.kubeconfig);
	if (sandbox_enter(&elector_profile) == -1 ||
	    sandbox_seccomp(&elector_profile) == -1)
		fatalx("sandbox");
	log_info("candidate %s for Lease %s/%s (lease %ld ms, renew "
	    "deadline %ld ms, retry %ld ms)", e.id, e.ns, e.name,
	    e.lease_ms, e.renew_ms, e.retry_ms);
	pfd.fd = STDIN_FILENO;
	pfd.events = POLLIN;
	while (!quit) {
		now = mono_ms();
		if (now >= next) {
			if (lease_try(&e) == 0) {
				e.renewed = mono_ms();
				if (!e.leading) {
					e.leading = 1;
					log_info("leading: Lease %s/%s held",
					    e.ns, e.name);
					if (write(STDOUT_FILENO, "leading\n",
					    8) != 8)
						fatal("write to cfgwd");
				}
			} else if (e.leading &&
			    mono_ms() - e.renewed >= e.renew_ms) {
				log_warnx("leadership lost: Lease %s/%s not "
				    "renewed for %ld ms", e.ns, e.name,
				    e.renew_ms);
				kube_free(&e.k);
				return 1;
			}
			next = mono_ms() + (e.leading ? e.retry_ms :
			    e.retry_ms + (long long)(random() %
			    (e.retry_ms / 5 + 1)));
			continue;
		}
		if (poll(&pfd, 1, (int)(next - now)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		/* EOF: cfgwd has stopped its workers (or died, and they
		 * with it): let go. */
		if (pfd.revents && read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
			break;
	}
	if (e.leading)
		lease_release(&e);
	kube_free(&e.k);
	log_info("stopped");
	return 0;
}
