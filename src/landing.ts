/**
 * The page at `/` when the web console (web/, React) has not been built into dist/web: it says
 * what this server is, where its API and documentation are, and how to build the console, in
 * Chinese and English. `npm start` builds the console first, so this shows only after a plain
 * `shutong serve` on a checkout without a build, or an install without dev dependencies.
 */
export function landingPage(version: string): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>数通 Shutong</title>
<style>
  body { font-family: system-ui, "PingFang SC", "Microsoft YaHei", sans-serif; max-width: 46rem; margin: 3rem auto; padding: 0 1rem; color: #1f2328; line-height: 1.6; }
  h1 { font-size: 1.8rem; margin-bottom: .2rem; } .en { color: #57606a; }
  a { color: #0958d9; } code { background: #f6f8fa; padding: .1rem .3rem; border-radius: 4px; }
</style>
</head>
<body>
<main>
<h1>数通 Shutong <small class="en">v${version}</small></h1>
<p>可信公共数据空间：公共数据资源编目、分类分级、按需共享、授权使用、全程留痕。</p>
<p class="en">A trusted public data space: catalog, classify and grade, share on demand, use under contract, trace every access.</p>
<ul>
  <li><a href="/docs">API 文档 / API documentation</a> · <a href="/openapi.json">OpenAPI 3.1</a></li>
  <li>登录 / Log in: <code>POST /v1/auth/login {"username", "password"}</code></li>
  <li><a href="/readyz">就绪检查 / Readiness</a> · <a href="/healthz">存活检查 / Liveness</a></li>
</ul>
<p>网页控制台尚未构建：在仓库目录运行 <code>npm run build</code>（或用 <code>npm start</code> 启动，它会先构建），然后刷新本页。<br><span class="en">The web console is not built: run <code>npm run build</code> in the repository (or start with <code>npm start</code>, which builds it first), then reload this page.</span></p>
</main>
</body>
</html>`;
}
