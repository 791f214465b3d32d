

def test_the_keychain_is_named_in_words_an_administrator_knows():
    from desktop.core.about import keychain_words
    assert keychain_words("keyring.backends.SecretService.Keyring").startswith("Secret Service")
    assert keychain_words("keyring.backends.macOS.Keyring") == "macOS Keychain"
    assert keychain_words("keyring.backends.Windows.WinVaultKeyring") == "Windows Credential Manager"
    assert keychain_words("passphrase vault (…)") == "passphrase vault (…)"  # ours: already words
