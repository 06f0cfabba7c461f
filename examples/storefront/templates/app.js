// Autocomplete for the search box: completions from /api/suggest fill its <datalist>.
const q = document.getElementById('q');
if (q) q.addEventListener('input', async () => {
  if (!q.value.trim() || q.value.length > 200) return;
  const r = await fetch('/api/suggest?q=' + encodeURIComponent(q.value));
  if (r.ok) document.getElementById('suggestions').replaceChildren(...(await r.json()).suggestions.map(s => new Option(s)));
});
