/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objpack: zstd frames of compact JSON against a built-in raw-content
 * dictionary (see objpack.h).
 *
 * The dictionary is text the objects are likely to share: keys and values
 * of ObjectMeta, the Gateway API route, Gateway and ReferenceGrant specs and
 * statuses, Services, Namespaces, and the workload kinds cfgw owns, written
 * as the API server encodes them (compact JSON; built-in kinds in Go field
 * order, custom resources with sorted keys).  zstd references it like
 * earlier input, so a 640-byte route costs little more than its names,
 * uid and timestamps.  Later parts of the dictionary are cheaper to refer
 * to, so the most common fragments come last.  Changing the dictionary
 * changes nothing on the wire: frames live only in one process's memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "objpack.h"

#define OBJPACK_LEVEL	6

static const char objpack_dict[] =
	/* Workloads cfgw owns, and what it reads of Services. */
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":"
	"{\"annotations\":{\"deployment.kubernetes.io/revision\":\"1\"},"
	"\"labels\":{\"app.kubernetes.io/managed-by\":"
	"\"cloudflare-gateway-controller\",\"app.kubernetes.io/name\":"
	"\"cloudflared\",\"app.kubernetes.io/instance\":\"\"},"
	"\"ownerReferences\":[{\"apiVersion\":"
	"\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","
	"\"blockOwnerDeletion\":true,\"controller\":true,\"name\":\"\","
	"\"uid\":\"\"}]},\"spec\":{\"replicas\":2,\"selector\":"
	"{\"matchLabels\":{}},\"strategy\":{\"type\":\"RollingUpdate\","
	"\"rollingUpdate\":{\"maxSurge\":\"25%\",\"maxUnavailable\":\"25%\"}},"
	"\"template\":{\"metadata\":{\"labels\":{}},\"spec\":{\"containers\":"
	"[{\"name\":\"cloudflared\",\"image\":\"cloudflare/cloudflared:\","
	"\"args\":[\"tunnel\",\"--no-autoupdate\",\"run\"],\"env\":[{\"name\":"
	"\"TUNNEL_TOKEN\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"\","
	"\"key\":\"token\"}}}],\"resources\":{\"limits\":{\"cpu\":\"\","
	"\"memory\":\"\"},\"requests\":{}},\"terminationMessagePath\":"
	"\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\","
	"\"imagePullPolicy\":\"IfNotPresent\",\"securityContext\":"
	"{\"runAsNonRoot\":true,\"readOnlyRootFilesystem\":true,"
	"\"allowPrivilegeEscalation\":false,\"capabilities\":{\"drop\":"
	"[\"ALL\"]}}}],\"restartPolicy\":\"Always\","
	"\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\","
	"\"serviceAccountName\":\"\",\"schedulerName\":\"default-scheduler\"}}"
	",\"revisionHistoryLimit\":10,\"progressDeadlineSeconds\":600},"
	"\"status\":{\"observedGeneration\":1,\"replicas\":2,"
	"\"updatedReplicas\":2,\"readyReplicas\":2,\"availableReplicas\":2,"
	"\"conditions\":[{\"type\":\"Available\",\"status\":\"True\","
	"\"lastUpdateTime\":\"\",\"lastTransitionTime\":\"\",\"reason\":"
	"\"MinimumReplicasAvailable\",\"message\":\"Deployment has minimum "
	"availability.\"},{\"type\":\"Progressing\",\"reason\":"
	"\"NewReplicaSetAvailable\"}]}}"
	"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"data\":{}}"
	"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
	"\"\",\"uid\":\"\",\"resourceVersion\":\"\",\"creationTimestamp\":\"\","
	"\"labels\":{\"kubernetes.io/metadata.name\":\"\"}},\"spec\":"
	"{\"finalizers\":[\"kubernetes\"]},\"status\":{\"phase\":\"Active\"}}"
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
	"\"\",\"namespace\":\"\",\"uid\":\"\",\"resourceVersion\":\"\","
	"\"creationTimestamp\":\"\",\"labels\":{\"app\":\"\"}},\"spec\":"
	"{\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"appProtocol\":"
	"\"kubernetes.io/h2c\",\"port\":80,\"targetPort\":8080},{\"name\":"
	"\"https\",\"protocol\":\"TCP\",\"port\":443,\"targetPort\":8443}],"
	"\"selector\":{\"app\":\"\"},\"clusterIP\":\"10.96.0.1\","
	"\"clusterIPs\":[\"\"],\"type\":\"ClusterIP\",\"sessionAffinity\":"
	"\"None\",\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":"
	"\"SingleStack\",\"internalTrafficPolicy\":\"Cluster\"},\"status\":"
	"{\"loadBalancer\":{}}}"
	/* Gateway API: the Gateway, ReferenceGrant, GRPCRoute. */
	"{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":"
	"\"GatewayClass\",\"spec\":{\"controllerName\":"
	"\"cloudflare-gateway-controller.io/controller\","
	"\"parametersRef\":{\"group\":\"cloudflare-gateway-controller.io\","
	"\"kind\":\"CloudflareGatewayParameters\"}}}"
	"{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","
	"\"spec\":{\"gatewayClassName\":\"cloudflare\",\"infrastructure\":"
	"{\"parametersRef\":{}},\"listeners\":[{\"allowedRoutes\":"
	"{\"kinds\":[{\"group\":\"gateway.networking.k8s.io\",\"kind\":"
	"\"HTTPRoute\"}],\"namespaces\":{\"from\":\"Same\"}},\"hostname\":"
	"\"\",\"name\":\"http\",\"port\":80,\"protocol\":\"HTTP\"},"
	"{\"name\":\"https\",\"port\":443,\"protocol\":\"HTTPS\",\"tls\":"
	"{\"certificateRefs\":[],\"mode\":\"Terminate\"}}]},\"status\":"
	"{\"addresses\":[{\"type\":\"Hostname\",\"value\":"
	"\".cfargotunnel.com\"}],\"listeners\":[{\"attachedRoutes\":1,"
	"\"supportedKinds\":[{\"group\":\"gateway.networking.k8s.io\","
	"\"kind\":\"GRPCRoute\"}],\"conditions\":[{\"type\":\"Programmed\"},"
	"{\"type\":\"Conflicted\",\"status\":\"False\",\"reason\":"
	"\"NoConflicts\"}]}]}}"
	"{\"apiVersion\":\"gateway.networking.k8s.io/v1beta1\",\"kind\":"
	"\"ReferenceGrant\",\"spec\":{\"from\":[{\"group\":"
	"\"gateway.networking.k8s.io\",\"kind\":\"HTTPRoute\",\"namespace\":"
	"\"\"}],\"to\":[{\"group\":\"\",\"kind\":\"Service\"}]}}"
	"{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":"
	"\"GRPCRoute\",\"spec\":{\"rules\":[{\"matches\":[{\"method\":"
	"{\"method\":\"\",\"service\":\"\",\"type\":\"Exact\"}}]}]}}"
	/* HTTPRoute matches and filters, less common first. */
	"\"filters\":[{\"type\":\"RequestRedirect\",\"requestRedirect\":"
	"{\"scheme\":\"https\",\"statusCode\":301}},{\"type\":\"URLRewrite\","
	"\"urlRewrite\":{\"hostname\":\"\",\"path\":{\"replacePrefixMatch\":"
	"\"/\",\"type\":\"ReplacePrefixMatch\"}}},{\"requestHeaderModifier\":"
	"{\"add\":[],\"remove\":[],\"set\":[{\"name\":\"\",\"value\":\"\"}]},"
	"\"type\":\"RequestHeaderModifier\"},{\"responseHeaderModifier\":{},"
	"\"type\":\"ResponseHeaderModifier\"}],\"timeouts\":{\"request\":"
	"\"10s\",\"backendRequest\":\"\"},\"headers\":[{\"name\":\"\","
	"\"type\":\"Exact\",\"value\":\"\"}],\"queryParams\":[{\"name\":\"\","
	"\"type\":\"RegularExpression\",\"value\":\"\"}],\"method\":\"GET\","
	"\"matches\":[{\"path\":{\"type\":\"Exact\",\"value\":\"/\"}}],"
	/* ObjectMeta in Go field order (built-in kinds). */
	"{\"metadata\":{\"name\":\"\",\"generateName\":\"\",\"namespace\":"
	"\"default\",\"uid\":\"\",\"resourceVersion\":\"\",\"generation\":1,"
	"\"creationTimestamp\":\"\",\"deletionTimestamp\":null,\"labels\":"
	"{\"app.kubernetes.io/name\":\"\",\"app.kubernetes.io/part-of\":\"\","
	"\"app.kubernetes.io/component\":\"\",\"app\":\"\"},\"annotations\":"
	"{},\"finalizers\":[\"gateway-exists-finalizer.gateway.networking."
	"k8s.io\"]}}"
	/* Route status (sorted keys), then the route itself. */
	"\"status\":{\"parents\":[{\"conditions\":[{\"lastTransitionTime\":"
	"\"\",\"message\":\"\",\"observedGeneration\":1,\"reason\":"
	"\"ResolvedRefs\",\"status\":\"True\",\"type\":\"ResolvedRefs\"},"
	"{\"lastTransitionTime\":\"\",\"message\":\"Route is accepted\","
	"\"observedGeneration\":1,\"reason\":\"Accepted\",\"status\":\"True\","
	"\"type\":\"Accepted\"}],\"controllerName\":"
	"\"cloudflare-gateway-controller.io/controller\",\"parentRef\":"
	"{\"group\":\"gateway.networking.k8s.io\",\"kind\":\"Gateway\","
	"\"name\":\"\",\"namespace\":\"\",\"sectionName\":\"\"}}]}}"
	"{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":"
	"\"HTTPRoute\",\"metadata\":{\"annotations\":{},"
	"\"creationTimestamp\":\"20\",\"generation\":1,\"labels\":{\"app\":"
	"\"\"},\"name\":\"\",\"namespace\":\"\",\"resourceVersion\":\"\","
	"\"uid\":\"\"},\"spec\":{\"hostnames\":[\".com\"],\"parentRefs\":"
	"[{\"group\":\"gateway.networking.k8s.io\",\"kind\":\"Gateway\","
	"\"name\":\"\",\"namespace\":\"\",\"sectionName\":\"\"}],\"rules\":"
	"[{\"backendRefs\":[{\"group\":\"\",\"kind\":\"Service\",\"name\":"
	"\"\",\"port\":80,\"weight\":1}],\"matches\":[{\"path\":{\"type\":"
	"\"PathPrefix\",\"value\":\"/\"}}]}]}}";

static struct {
	ZSTD_CCtx	*cctx;
	ZSTD_DCtx	*dctx;
	ZSTD_CDict	*cdict;
	ZSTD_DDict	*ddict;
	unsigned char	*buf;		/* objpack_pack's answer */
	size_t		 cap;
} op;

static int
objpack_cinit(void)
{
	if (op.cctx != NULL)
		return 0;
	/* Small inputs: the dictionary sets modest window and tables. */
	if ((op.cdict = ZSTD_createCDict(objpack_dict, sizeof(objpack_dict) -
	    1, OBJPACK_LEVEL)) == NULL || (op.cctx = ZSTD_createCCtx()) ==
	    NULL || ZSTD_isError(ZSTD_CCtx_refCDict(op.cctx, op.cdict)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(op.cctx,
	    ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(op.cctx,
	    ZSTD_c_contentSizeFlag, 1))) {
		ZSTD_freeCCtx(op.cctx);
		ZSTD_freeCDict(op.cdict);
		op.cctx = NULL;
		op.cdict = NULL;
		return -1;
	}
	return 0;
}

static int
objpack_dinit(void)
{
	if (op.dctx != NULL)
		return 0;
	if ((op.ddict = ZSTD_createDDict(objpack_dict, sizeof(objpack_dict) -
	    1)) == NULL || (op.dctx = ZSTD_createDCtx()) == NULL) {
		ZSTD_freeDDict(op.ddict);
		op.ddict = NULL;
		return -1;
	}
	return 0;
}

const void *
objpack_pack(const char *text, size_t len, size_t *outlen)
{
	unsigned char	*nb;
	size_t		 bound, n;

	if (len > OBJPACK_MAX || objpack_cinit() == -1)
		return NULL;
	bound = ZSTD_compressBound(len);
	if (bound > op.cap) {
		if ((nb = realloc(op.buf, bound)) == NULL)
			return NULL;
		op.buf = nb;
		op.cap = bound;
	}
	n = ZSTD_compress2(op.cctx, op.buf, op.cap, text, len);
	if (ZSTD_isError(n)) {
		/* A failed frame leaves the context mid-way: start over. */
		ZSTD_CCtx_reset(op.cctx, ZSTD_reset_session_only);
		return NULL;
	}
	*outlen = n;
	/* One large object must not pin a large buffer. */
	if (op.cap > 64 * 1024 && n <= 64 * 1024) {
		if ((nb = malloc(n)) == NULL)
			return NULL;
		memcpy(nb, op.buf, n);
		free(op.buf);
		op.buf = nb;
		op.cap = n;
	}
	return op.buf;
}

char *
objpack_unpack(const void *frame, size_t framelen, size_t max, size_t *len)
{
	unsigned long long	 want;
	size_t			 n;
	char			*text;

	if (max == 0 || max > OBJPACK_MAX)
		max = OBJPACK_MAX;
	want = ZSTD_getFrameContentSize(frame, framelen);
	if (want == ZSTD_CONTENTSIZE_UNKNOWN ||
	    want == ZSTD_CONTENTSIZE_ERROR || want > max ||
	    ZSTD_findFrameCompressedSize(frame, framelen) != framelen) {
		errno = EINVAL;
		return NULL;
	}
	if (objpack_dinit() == -1 || (text = malloc(want + 1)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	n = ZSTD_decompress_usingDDict(op.dctx, text, want, frame, framelen,
	    op.ddict);
	if (ZSTD_isError(n) || n != want) {
		free(text);
		errno = EINVAL;
		return NULL;
	}
	text[n] = '\0';
	*len = n;
	return text;
}

void
objpack_cleanup(void)
{
	ZSTD_freeCCtx(op.cctx);
	ZSTD_freeCDict(op.cdict);
	ZSTD_freeDCtx(op.dctx);
	ZSTD_freeDDict(op.ddict);
	free(op.buf);
	memset(&op, 0, sizeof(op));
}
