// A plain page: no build step, no libraries. It talks to this service's OpenAI-compatible API,
// streams replies (server-sent events over fetch, so the Authorization header can be sent), and
// keeps the conversation in memory. Text is always inserted as text, never as HTML.
(() => {
  const $ = (id) => document.getElementById(id);
  const log = $('log'), prompt = $('prompt'), send = $('send'), stop = $('stop'), apiKey = $('api-key');
  const history = [];
  let model = null, running = null;

  apiKey.value = sessionStorage.getItem('llamba.apiKey') || '';
  apiKey.addEventListener('change', () => { sessionStorage.setItem('llamba.apiKey', apiKey.value); loadModel(); });

  function headers() {
    const h = { 'Content-Type': 'application/json' };
    if (apiKey.value) h['Authorization'] = 'Bearer ' + apiKey.value;
    return h;
  }

  function add(cls, text) {
    const div = document.createElement('div');
    div.className = cls;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) return body.error.message + ' (HTTP ' + response.status + ')';
    } catch (e) { /* not JSON */ }
    return 'HTTP ' + response.status;
  }

  async function loadModel() {
    try {
      const r = await fetch('v1/models', { headers: headers() });
      if (!r.ok) { $('model').textContent = '(' + await errorText(r) + ')'; return; }
      const list = await r.json();
      model = list.data[0].id;
      $('model').textContent = model;
    } catch (e) {
      $('model').textContent = '(server unreachable)';
    }
  }

  function setRunning(controller) {
    running = controller;
    send.disabled = !!controller;
    stop.disabled = !controller;
  }

  // Reads "data: ..." events from the response body, calling onEvent with each parsed JSON.
  async function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split('\n').filter(l => l.startsWith('data:')).map(l => l.slice(5).replace(/^ /, '')).join('\n');
        if (data === '[DONE]') return;
        if (data) onEvent(JSON.parse(data));
      }
    }
  }

  async function ask(text) {
    history.push({ role: 'user', content: text });
    add('msg user', text);
    const bubble = add('msg assistant', '');
    bubble.dataset.state = 'streaming';
    const messages = [];
    if ($('system').value.trim()) messages.push({ role: 'system', content: $('system').value.trim() });
    messages.push(...history);
    const body = {
      model: model || undefined,
      messages,
      stream: true,
      stream_options: { include_usage: true },
      temperature: Number($('temperature').value),
      max_tokens: Number($('max-tokens').value)
    };
    const controller = new AbortController();
    setRunning(controller);
    let reply = '', finish = null, usage = null;
    try {
      const r = await fetch('v1/chat/completions', { method: 'POST', headers: headers(), body: JSON.stringify(body), signal: controller.signal });
      if (!r.ok) throw new Error(await errorText(r));
      await readEvents(r, (chunk) => {
        if (chunk.error) throw new Error(chunk.error.message);
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices || []) {
          if (c.delta && c.delta.content) { reply += c.delta.content; bubble.textContent = reply; log.scrollTop = log.scrollHeight; }
          if (c.finish_reason) finish = c.finish_reason;
        }
      });
      history.push({ role: 'assistant', content: reply });
      bubble.dataset.state = 'done';
      const meta = [finish && ('finish: ' + finish), usage && (usage.prompt_tokens + ' prompt + ' + usage.completion_tokens + ' completion tokens')];
      add('meta', meta.filter(Boolean).join(' · '));
    } catch (e) {
      history.pop();
      bubble.dataset.state = controller.signal.aborted ? 'stopped' : 'error';
      if (controller.signal.aborted) {
        add('meta', 'stopped');
      } else {
        if (!reply) bubble.remove();
        add('msg error', e.message);
      }
    } finally {
      setRunning(null);
    }
  }

  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = prompt.value.trim();
    if (!text || running) return;
    prompt.value = '';
    ask(text);
  });
  prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('composer').requestSubmit(); }
  });
  stop.addEventListener('click', () => running && running.abort());
  $('clear').addEventListener('click', () => { if (running) running.abort(); history.length = 0; log.textContent = ''; });
  loadModel();
})();
