// ferrometa UI: progressive enhancement only; every page works without it.
document.addEventListener('DOMContentLoaded', () => {
  // "Copy to clipboard" for tokens shown once.
  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.addEventListener('click', async () => {
      const field = document.getElementById(button.dataset.copy);
      const status = button.parentElement.querySelector('.copied');
      try {
        await navigator.clipboard.writeText(field.value);
        if (status) status.textContent = 'Copied.';
      } catch {
        field.focus();
        field.select();
        if (status) status.textContent = 'Selected: press Ctrl+C to copy.';
      }
    });
  }
  // Confirmation before destructive actions.
  for (const form of document.querySelectorAll('form[data-confirm]')) {
    form.addEventListener('submit', (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  // The provider's sign-out form (generic OIDC) goes on by itself.
  const auto = document.querySelector('form[data-autosubmit]');
  if (auto) auto.submit();
});
